package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func key(i int) Key { return sha256.Sum256([]byte(strconv.Itoa(i))) }

func val(i int) []byte { return bytes.Repeat([]byte{byte(i)}, i%50) }

func fill(t *testing.T, path string, n int) {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := s.Put(key(i), val(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStore(t *testing.T) {
	recordSize := func(i int) int64 { return headerSize + int64(len(val(i))) }
	tests := []struct {
		name string
		n    int
		// damage changes the file after n records were stored
		damage func(t *testing.T, path string)
		want   int // records found on reopening
	}{
		{"reopen", 100, func(*testing.T, string) {}, 100},
		{"empty", 0, func(*testing.T, string) {}, 0},
		{"torn header", 10, func(t *testing.T, path string) { appendBytes(t, path, []byte{1, 2, 3}) }, 10},
		{"torn value", 10, func(t *testing.T, path string) {
			st, _ := os.Stat(path)
			os.Truncate(path, st.Size()-3) // the last record (49 bytes of value... or fewer) cut short
		}, 9},
		{"bad crc", 10, func(t *testing.T, path string) {
			var off int64
			for i := range 5 {
				off += recordSize(i)
			}
			flip(t, path, off+headerSize-1) // a byte of record 5's key
		}, 5},
		{"huge length", 3, func(t *testing.T, path string) {
			appendBytes(t, path, []byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0})
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "cp")
			fill(t, path, tt.n)
			tt.damage(t, path)
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Len() != tt.want {
				t.Fatalf("%d records after reopening, want %d", s.Len(), tt.want)
			}
			for i := range tt.n {
				v, ok, err := s.Get(key(i))
				if err != nil {
					t.Fatal(err)
				}
				if ok != (i < tt.want) || ok && !bytes.Equal(v, val(i)) {
					t.Fatalf("record %d: found %v (%x), want found %v (%x)", i, ok, v, i < tt.want, val(i))
				}
			}
			// appending goes on after the last good record
			if err := s.Put(key(1000), []byte("after")); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s2, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			if v, ok, _ := s2.Get(key(1000)); !ok || string(v) != "after" {
				t.Fatalf("the record put after a damaged tail: %q %v", v, ok)
			}
			if s2.Len() != tt.want+1 {
				t.Fatalf("%d records, want %d", s2.Len(), tt.want+1)
			}
		})
	}
}

func TestStoreKeepsFirstValue(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "cp"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Put(key(1), []byte("a"))
	s.Put(key(1), []byte("b"))
	if v, _, _ := s.Get(key(1)); string(v) != "a" || s.Len() != 1 {
		t.Fatalf("got %q, %d records; want the first value, 1 record", v, s.Len())
	}
}

func TestStoreLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second Open of a store in use: %v, want ErrLocked", err)
	}
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good")
	s, _ := Open(good)
	s.Put(key(1), []byte("one"))
	s.Put(key(2), nil)
	s.Close()
	b, _ := os.ReadFile(good)
	f.Add(b)
	f.Add([]byte{})
	f.Add(b[:len(b)-1])
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "cp")
		os.WriteFile(path, data, 0o644)
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		st, _ := os.Stat(path)
		if st.Size() > int64(len(data)) {
			t.Fatalf("Open grew the file from %d to %d bytes", len(data), st.Size())
		}
		if !bytes.Equal(data[:st.Size()], mustRead(t, path)) {
			t.Fatal("Open changed the records it kept")
		}
	})
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func appendBytes(t *testing.T, path string, b []byte) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(b)
	f.Close()
}

func flip(t *testing.T, path string, off int64) {
	b := mustRead(t, path)
	b[off] ^= 0xff
	os.WriteFile(path, b, 0o644)
}
