package jobs

import "iter"

// Grouping gives a job several inputs: -n N (up to N), -N N (N, {1} to
// {N}), -m and -X (as many as the job slots share).
type Grouping struct {
	MaxArgs int  // inputs per job; 0: one
	Exact   bool // -N: the inputs are {1} to {N}
	Multi   bool // -m, -X
	Context bool // -X: the word around {} is repeated for each input
	None    bool // -n 0, -N 0: each input runs the command without arguments
	// Fill, with Multi, is the template whose command lines -m and -X
	// fill: each job gets the inputs that keep its line under MaxChars
	// (-s; DefaultMaxChars if 0) and, at the end of the input, the last
	// line's inputs are spread over Slots job slots, as GNU parallel
	// does. Without Fill, MaxArgs inputs make a job.
	Fill     *Template
	MaxChars int
	Slots    int
}

// Jobs is the number of jobs n inputs make.
func (g Grouping) Jobs(n int) int {
	if g.MaxArgs <= 1 {
		return n
	}
	return (n + g.MaxArgs - 1) / g.MaxArgs
}

// Apply groups the inputs: each job's arguments are those of its inputs,
// one after the other.
func (g Grouping) Apply(in iter.Seq2[[]string, error]) iter.Seq2[[]string, error] {
	if g.None {
		return func(yield func([]string, error) bool) {
			for _, err := range in {
				if !yield([]string{}, err) || err != nil {
					return
				}
			}
		}
	}
	if g.Multi && g.Fill != nil {
		if g.MaxChars <= 0 {
			g.MaxChars = DefaultMaxChars
		}
		return g.fill(in)
	}
	if g.MaxArgs <= 1 {
		return in
	}
	return func(yield func([]string, error) bool) {
		var cur []string
		k := 0
		for a, err := range in {
			if err != nil {
				yield(nil, err)
				return
			}
			cur = append(cur, a...)
			if k++; k == g.MaxArgs {
				if !yield(cur, nil) {
					return
				}
				cur, k = nil, 0
			}
		}
		if k > 0 {
			yield(cur, nil)
		}
	}
}
