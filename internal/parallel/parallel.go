// Package parallel splits loops across the cores the Go scheduler has.
package parallel

import (
	"runtime"
	"sync"
)

// MinWork is the element count below which For stays on one goroutine:
// starting goroutines costs more than it saves on smaller loops.
const MinWork = 1 << 14

// For calls fn on disjoint ranges covering [0, n), on up to GOMAXPROCS
// goroutines when work (an element count) is at least MinWork, and waits.
func For(n, work int, fn func(lo, hi int)) {
	p := min(runtime.GOMAXPROCS(0), n)
	if p <= 1 || work < MinWork {
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
