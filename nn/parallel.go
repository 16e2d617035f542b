package nn

import (
	"runtime"
	"sync"
)

// minParallel is the smallest amount of work (in elements) worth splitting
// across goroutines; below it the goroutine start-up costs more than it saves.
const minParallel = 1 << 14

// parallelFor calls fn on disjoint ranges covering [0, n), using up to
// GOMAXPROCS goroutines when work (an element count) is large enough.
func parallelFor(n, work int, fn func(lo, hi int)) {
	p := runtime.GOMAXPROCS(0)
	if p > n {
		p = n
	}
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
