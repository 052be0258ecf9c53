package mp

import "testing"

// A pipe's ends wait for a message as long as a wake-up costs
// (ring.Ring.Patient): a pipe carries requests and replies, and a side
// that sleeps through the other's reply pays a wake-up each time.
func TestPipeEndsArePatient(t *testing.T) {
	for _, duplex := range []bool{false, true} {
		a, b, err := Pipe[int](duplex)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []*Queue[int]{a.in, a.out, b.in, b.out} {
			if q != nil && !q.r.Patient {
				t.Errorf("duplex=%v: a pipe's queue is not patient", duplex)
			}
		}
		a.Unlink()
	}
}
