package snn

import (
	"github.com/privatesnn/privatesnn/internal/parallel"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/tensor"
)

// chunkSim simulates chunks of images layer by layer over all steps,
// reusing its buffers between chunks.
type chunkSim struct {
	net      *Network
	opts     Options
	res      *Result
	readouts []int

	in, cur, spk, pooled, cols, u []float32
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// run simulates images i0..i1 of x.
func (cs *chunkSim) run(x *tensor.Tensor, seeds []uint64, i0, i1 int) {
	n := cs.net
	c := n.Model.Config
	T := n.Config.Timesteps
	B := i1 - i0
	P := T * B // planes, ordered (t, b)
	hwc := c.InHeight * c.InWidth * c.InChannels
	cs.in = grow(cs.in, P*hwc)
	cs.encode(x, seeds, i0, i1)
	in := cs.in
	if cs.opts.Spikes != nil {
		cs.opts.Spikes(-1, in[:P*hwc], T, B*hwc)
	}
	for si := range n.stages {
		s := &n.stages[si]
		st := &cs.res.Layers[si]
		nz := countNonZero(in[:P*s.inSize()])
		st.InputEvents += nz
		out := s.outSize()
		cs.cur = grow(cs.cur, P*out)
		density := n.eventDensity(s, cs.opts.EventDensity)
		useEvents := cs.opts.Path == Events || cs.opts.Path == Auto && float64(nz) < density*float64(P*s.inSize())
		if useEvents {
			st.EventChunks++
		} else {
			st.DenseChunks++
		}
		cs.synapse(s, in, P, useEvents)
		if s.kind == outStage {
			cs.accumulate(s, B, i0)
			return
		}
		if cs.opts.Current != nil {
			cs.opts.Current(s.spiking, cs.cur[:P*out], T, B*out)
		}
		if s.spiking == cs.opts.Observe-1 {
			return
		}
		cs.spk = grow(cs.spk, P*out)
		st.Spikes += cs.neurons(s, B)
		in = cs.spk[:P*out]
		if cs.opts.Spikes != nil {
			cs.opts.Spikes(s.spiking, in, T, B*out)
		}
		if s.poolAfter {
			oh, ow := s.outHW()
			cs.pooled = grow(cs.pooled, P*(oh/2)*(ow/2)*s.cout)
			poolNHWC(cs.pooled, in, P, oh, ow, s.cout)
			in = cs.pooled[:P*(oh/2)*(ow/2)*s.cout]
		}
		// The next stage's synapse consumes in (possibly cs.spk) before its
		// neurons overwrite cs.spk, so no second buffer is needed.
	}
}

// eventDensity is the input density below which stage s runs the
// event-driven kernel. A synapse with at most smallFanIn inputs per output
// (e.g. a 3×3 conv on one or three channels) makes a GEMM with a tiny inner
// dimension, which the event kernel beats even on dense input (measured on
// the Fashion-MNIST first layer at 76 % input density: 5,300 vs 6,200
// image-steps/s for the whole network), so it always uses events.
func (n *Network) eventDensity(s *stage, o float64) float64 {
	if s.k*s.k*s.cin <= smallFanIn {
		return 1.01
	}
	if o > 0 {
		return o
	}
	return DefaultEventDensity
}

// smallFanIn is the fan-in up to which the event kernel always runs.
const smallFanIn = 64

// encode fills cs.in [T, B, H, W, C] from images i0..i1 of x (NCHW).
func (cs *chunkSim) encode(x *tensor.Tensor, seeds []uint64, i0, i1 int) {
	n := cs.net
	c := n.Model.Config
	T, B := n.Config.Timesteps, i1-i0
	C, H, W := c.InChannels, c.InHeight, c.InWidth
	hwc := H * W * C
	parallel.For(B, T*B*hwc, func(lo, hi int) {
		img := make([]float32, hwc)
		for b := lo; b < hi; b++ {
			src := x.Data[(i0+b)*hwc : (i0+b+1)*hwc]
			for ch := range C {
				for p := range H * W {
					img[p*C+ch] = src[ch*H*W+p]
				}
			}
			if n.Config.Encoder == Direct {
				for t := range T {
					copy(cs.in[(t*B+b)*hwc:(t*B+b+1)*hwc], img)
				}
				continue
			}
			rng := rand.New(rand.NewPCG(seeds[i0+b], 0x9e3779b97f4a7c15))
			for t := range T {
				poissonEncode(cs.in[(t*B+b)*hwc:(t*B+b+1)*hwc], img, rng)
			}
		}
	})
}

// PoissonEncode writes one step of the signed rate code of x into dst:
// dst[i] = sign(x[i]) if U[0,1) ≤ |x[i]| else 0 (SPEC §3.2).
func PoissonEncode(dst, x []float32, rng *rand.Rand) { poissonEncode(dst, x, rng) }

func poissonEncode(dst, x []float32, rng *rand.Rand) {
	for i, v := range x {
		r := float32(rng.Float64())
		switch {
		case v > 0 && r <= v:
			dst[i] = 1
		case v < 0 && r <= -v:
			dst[i] = -1
		default:
			dst[i] = 0
		}
	}
}

// synapse computes cs.cur = W ∗ in for all P planes.
func (cs *chunkSim) synapse(s *stage, in []float32, P int, events bool) {
	out := s.outSize()
	cur := cs.cur[:P*out]
	if !events {
		if s.kind == convStage {
			cs.cols = convDense(cur, in, s.wt, P, s.h, s.w, s.cin, s.cout, s.k, s.pad, cs.cols)
		} else {
			linearDense(cur, in, s.wt, P, s.cin, s.cout)
		}
		return
	}
	inSize := s.inSize()
	parallel.For(P, P*inSize*4, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src, dst := in[p*inSize:(p+1)*inSize], cur[p*out:(p+1)*out]
			clear(dst) // per plane, so the zeroed plane is still in cache for the kernel
			if s.kind == convStage {
				convEvents(dst, src, s.wt, s.h, s.w, s.cin, s.cout, s.k, s.pad)
			} else {
				linearEvents(dst, src, s.wt, s.cin, s.cout)
			}
		}
	})
}

// neurons runs the neuron recurrence of a spiking stage over all steps,
// writing spikes into cs.spk, and returns the spike count.
func (cs *chunkSim) neurons(s *stage, B int) int64 {
	T := cs.net.Config.Timesteps
	n := B * s.outSize()
	cs.u = grow(cs.u, n)
	clear(cs.u)
	theta := cs.net.Config.Thresholds[s.spiking]
	leak := float32(cs.net.Config.Leak)
	counts := make([]int64, 64)
	parts := min(len(counts), max(1, n/4096))
	parallel.For(parts, T*n, func(lo, hi int) {
		for part := lo; part < hi; part++ {
			a, b := part*n/parts, (part+1)*n/parts
			counts[part] = neuronScanStrided(cs.spk, cs.cur, cs.u, T, n, a, b, theta, leak, cs.net.Config.Reset)
		}
	})
	var total int64
	for _, c := range counts[:parts] {
		total += c
	}
	return total
}

// accumulate adds the output layer's currents over time into the readouts.
func (cs *chunkSim) accumulate(s *stage, B, i0 int) {
	T := cs.net.Config.Timesteps
	k := s.cout
	acc := make([]float32, B*k)
	r := 0
	for t := range T {
		cur := cs.cur[t*B*k : (t+1)*B*k]
		for i, v := range cur {
			acc[i] += v
		}
		if t+1 == cs.readouts[r] {
			copy(cs.res.Potentials[r].Data[i0*k:(i0+B)*k], acc)
			r++
		}
	}
}
