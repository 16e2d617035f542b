package snn

import "sync"

// scratchPool holds the neuron kernels' scratch state (membranes, net
// counts, carries), which they set before use. Taken from the pool, a
// training step's kernels allocate nothing per call: allocating it per
// call made about 50 MB of garbage per BPTT step of the default network
// with signed burst neurons at T = 4 (batch 64), which let the heap grow
// to twice its live size.
var scratchPool sync.Pool

// getScratch returns a scratch slice of n values, not cleared; give it
// back with putScratch.
func getScratch(n int) *[]float32 {
	p, _ := scratchPool.Get().(*[]float32)
	if p == nil || cap(*p) < n {
		s := make([]float32, n)
		return &s
	}
	*p = (*p)[:n]
	return p
}

func putScratch(p *[]float32) { scratchPool.Put(p) }
