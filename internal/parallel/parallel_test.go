package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForCoversRangeOnce(t *testing.T) {
	for _, c := range []struct{ n, work int }{{0, 0}, {1, MinWork}, {7, 1}, {1000, MinWork}, {3, 1 << 20}} {
		hits := make([]int32, c.n)
		For(c.n, c.work, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&hits[i], 1)
			}
		})
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d work=%d: index %d visited %d times", c.n, c.work, i, h)
			}
		}
	}
}
