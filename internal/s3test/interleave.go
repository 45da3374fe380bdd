package s3test

import (
	"testing"
	"time"
)

// Side is one way of doing an operation, for Interleave.
type Side struct {
	Name string
	// Prep, when set, runs before each Op, outside the time and the counts.
	Prep func(i int)
	// Op is the operation measured; i counts iterations from 0.
	Op func(i int) error
}

// Interleave runs each side b.N times, interleaved (the order rotates every
// iteration) so that all sides see the same load on a shared machine, and
// returns each side's total time and the HTTP requests hc counted during
// its Ops, by operation name. An error from an Op fails the benchmark.
func Interleave(b *testing.B, hc *RequestCounter, sides []Side) (total []time.Duration, reqs []map[string]int) {
	b.Helper()
	total = make([]time.Duration, len(sides))
	reqs = make([]map[string]int, len(sides))
	for k := range reqs {
		reqs[k] = map[string]int{}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range sides {
			k := (i + j) % len(sides)
			s := sides[k]
			if s.Prep != nil {
				s.Prep(i)
			}
			hc.Reset()
			start := time.Now()
			if err := s.Op(i); err != nil {
				b.Fatalf("%s: %v", s.Name, err)
			}
			total[k] += time.Since(start)
			for op, n := range hc.Reset() {
				reqs[k][op] += n
			}
		}
	}
	b.StopTimer()
	return total, reqs
}
