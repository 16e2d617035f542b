package snn

import (
	"runtime"
	"sync"
)

// minParallel is the element count below which work stays on one goroutine.
const minParallel = 1 << 14

// parallelFor calls fn on disjoint ranges covering [0, n) on up to
// GOMAXPROCS goroutines when work is large enough.
func parallelFor(n, work int, fn func(lo, hi int)) {
	p := min(runtime.GOMAXPROCS(0), n)
	if p <= 1 || work < minParallel {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range p {
		lo, hi := i*n/p, (i+1)*n/p
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
