package main

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"os"
	"testing"

	"github.com/mp-go/mp/internal/wire"
)

// record is a small struct value, as a task argument often is.
type record struct {
	Key   string
	Count int
	Score float64
	Tags  []string
}

// reportCodecs measures encoding plus decoding of one value with gob (a
// fresh encoder per value, as values cross one at a time) and with mp's
// codec (internal/wire: CBOR, with its checks and bounds, as every value
// crossing a process boundary pays), for a small struct and a slice of
// 1,000 ints (sent alone, not as MarshalSlice's raw words).
func reportCodecs() {
	small := record{Key: "taipei", Count: 42, Score: 0.5, Tags: []string{"a", "b"}}
	large := ints(1000)
	cases := []struct {
		name string
		fn   func(b *testing.B)
	}{
		{"gob, small struct", func(b *testing.B) {
			for b.Loop() {
				var buf bytes.Buffer
				check(gob.NewEncoder(&buf).Encode(small))
				var out record
				check(gob.NewDecoder(&buf).Decode(&out))
			}
		}},
		{"cbor, small struct", func(b *testing.B) {
			for b.Loop() {
				data, err := wire.Marshal(small)
				check(err)
				var out record
				check(wire.Unmarshal(data, &out))
			}
		}},
		{"gob, 1,000 ints", func(b *testing.B) {
			for b.Loop() {
				var buf bytes.Buffer
				check(gob.NewEncoder(&buf).Encode(large))
				var out []int
				check(gob.NewDecoder(&buf).Decode(&out))
			}
		}},
		{"cbor, 1,000 ints", func(b *testing.B) {
			for b.Loop() {
				data, err := wire.Marshal(large)
				check(err)
				var out []int
				check(wire.Unmarshal(data, &out))
			}
		}},
	}
	fmt.Fprintf(os.Stdout, "\nCodec, encode + decode of one value (testing.Benchmark, this run):\n\n| case | ns/op | bytes |\n|---|---:|---:|\n")
	sizes := map[string]int{}
	{
		var b1, b2 bytes.Buffer
		gob.NewEncoder(&b1).Encode(small)
		gob.NewEncoder(&b2).Encode(large)
		c1, _ := wire.Marshal(small)
		c2, _ := wire.Marshal(large)
		sizes["gob, small struct"], sizes["gob, 1,000 ints"] = b1.Len(), b2.Len()
		sizes["cbor, small struct"], sizes["cbor, 1,000 ints"] = len(c1), len(c2)
	}
	for _, c := range cases {
		r := testing.Benchmark(c.fn)
		fmt.Fprintf(os.Stdout, "| %s | %d | %d |\n", c.name, r.NsPerOp(), sizes[c.name])
	}
}
