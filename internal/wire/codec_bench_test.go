package wire

import "testing"

type benchRecord struct {
	ID    int
	Name  string
	Tags  []string
	Score float64
}

// BenchmarkMarshal measures encoding with its checks: a value whose type
// settles them (benchRecord), values that are walked ([]any, a map, a
// linked list).
func BenchmarkMarshal(b *testing.B) {
	for _, bc := range []struct {
		name string
		v    any
	}{
		{"struct", benchRecord{ID: 1, Name: "a name", Tags: []string{"x", "y"}, Score: 1.5}},
		{"any slice", []any{1, "two", 3.0, []any{4, 5}, map[string]any{"k": "v"}}},
		{"map", map[string]any{"a": 1, "b": "two", "c": []int{1, 2, 3}}},
		{"list of 100", list(100)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Marshal(bc.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
