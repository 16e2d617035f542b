package snn

import (
	"math"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/internal/parallel"

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
	// q holds signed neurons' net spike counts (Config.Signed).
	q []float32
	// colsMax bounds the im2col buffer (values); 0 is maxColsElems.
	colsMax int
	// keep holds TrainStep's per-stage buffers (nil until one runs).
	keep *chunkKeep
}

func (cs *chunkSim) colsLimit() int {
	if cs.colsMax > 0 {
		return cs.colsMax
	}
	return maxColsElems
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
	// With Direct input the first layer sees the same analog image at every
	// step, so its current is computed once per image (B planes) and reused
	// for all T steps.
	direct := n.Config.Encoder == Direct && !cs.opts.perStepDirect
	inPlanes := P
	if direct {
		inPlanes = B
	}
	cs.in = grow(cs.in, inPlanes*hwc)
	cs.encode(x, seeds, i0, i1, direct)
	in := cs.in
	if cs.opts.Spikes != nil {
		cs.opts.Spikes(-1, in[:inPlanes*hwc], inPlanes/B, B*hwc)
	}
	for si := range n.stages {
		s := &n.stages[si]
		constant := direct && si == 0 // the current is [B, out], the same at every step
		planes := P
		if constant {
			planes = B
		}
		nz := cs.countInput(s, si, in, B, constant)
		out := s.outSize()
		cs.cur = grow(cs.cur, P*out)
		density := n.eventDensity(s, cs.opts.EventDensity)
		useEvents := cs.opts.Path == Events || cs.opts.Path == Auto && float64(nz) < density*float64(planes*s.inSize())
		for k := range cs.readouts {
			if useEvents {
				cs.res.ReadoutLayers[k][si].EventChunks++
			} else {
				cs.res.ReadoutLayers[k][si].DenseChunks++
			}
		}
		cs.synapse(s, in, planes, useEvents)
		if s.kind == outStage {
			cs.accumulate(s, B, i0)
			return
		}
		curStride := B * out // between steps of cs.cur
		if constant {
			curStride = 0
		}
		if cs.opts.Current != nil {
			cs.opts.Current(s.spiking, cs.cur[:planes*out], planes/B, B*out)
		}
		if s.spiking == cs.opts.Observe-1 {
			return
		}
		cs.spk = grow(cs.spk, P*out)
		for k, cnt := range cs.neurons(s, B, curStride) {
			for kk := k; kk < len(cs.readouts); kk++ {
				cs.res.ReadoutLayers[kk][si].Spikes += cnt
			}
		}
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

// countInput adds stage si's input events and synaptic operations of this
// chunk to the statistics of every readout, segment by segment, and returns
// the number of non-zero inputs in the planes the synapse will process
// (B planes when constant, else T·B).
func (cs *chunkSim) countInput(s *stage, si int, in []float32, B int, constant bool) int64 {
	size := s.inSize()
	if constant {
		nz, ops := cs.inputCounts(s, si, in[:B*size], B)
		t0 := 0
		for k, t1 := range cs.readouts {
			for kk := k; kk < len(cs.readouts); kk++ {
				cs.res.ReadoutLayers[kk][si].InputEvents += nz * int64(t1-t0)
				cs.res.ReadoutLayers[kk][si].SynapticOps += ops * int64(t1-t0)
			}
			t0 = t1
		}
		return nz
	}
	var total int64
	t0 := 0
	for k, t1 := range cs.readouts {
		nz, ops := cs.inputCounts(s, si, in[t0*B*size:t1*B*size], (t1-t0)*B)
		for kk := k; kk < len(cs.readouts); kk++ {
			cs.res.ReadoutLayers[kk][si].InputEvents += nz
			cs.res.ReadoutLayers[kk][si].SynapticOps += ops
		}
		total += nz
		t0 = t1
	}
	return total
}

// inputCounts is stage s's inputCounts, weighted by the spike counts of
// burst spikes where stage si's input comes from a burst layer
// (stage.burstCounts).
func (cs *chunkSim) inputCounts(s *stage, si int, in []float32, planes int) (nz, ops int64) {
	if si > 0 && cs.net.Config.Burst > 1 {
		return s.burstCounts(in, planes)
	}
	return s.inputCounts(in, planes)
}

// burstCounts is inputCounts for input from burst neurons: an input of
// value v stands for ⌈|v|⌉ events (a count of k spikes for k, a pooled
// value for one more event per unit it exceeds), so the accumulations
// are ⌈|v|⌉ times those of one event. nz is still the non-zero values.
// Below one it counts as inputCounts does, so ordinary spikes count the
// same.
func (s *stage) burstCounts(in []float32, planes int) (nz, ops int64) {
	events := func(v []float32) (nz, ev int64) {
		for _, x := range v {
			if x != 0 {
				a := abs32(x)
				k := int64(a)
				if float32(k) < a { // ⌈a⌉
					k++
				}
				nz++
				ev += k
			}
		}
		return nz, ev
	}
	if s.kind != convStage {
		nz, ev := events(in)
		return nz, ev * int64(s.cout)
	}
	size := s.inSize()
	var ev, miss int64
	for p := range planes {
		plane := in[p*size : (p+1)*size]
		n, e := events(plane)
		nz += n
		ev += e
		for _, edge := range s.edges {
			_, e := events(plane[edge.off : edge.off+s.cin])
			miss += edge.missing * e
		}
	}
	return nz, int64(s.cout) * (int64(s.k*s.k)*ev - miss)
}

// inputCounts returns the non-zero values of the planes of in and the
// accumulations the event-driven kernel performs for them: Cout per
// non-zero input and per tap inside the output map (see
// LayerStats.SynapticOps).
func (s *stage) inputCounts(in []float32, planes int) (nz, ops int64) {
	if s.kind != convStage {
		nz = countNonZero(in)
		return nz, nz * int64(s.cout)
	}
	// Interior inputs reach all K×K taps; the border pixels listed in
	// s.edges fewer. Each plane's border is counted right after the plane
	// itself, while it is in cache.
	size := s.inSize()
	parts := min(planes, 64)
	nzs, missing := make([]int64, parts), make([]int64, parts)
	parallel.For(parts, planes*size, func(lo, hi int) {
		for part := lo; part < hi; part++ {
			for p := part * planes / parts; p < (part+1)*planes/parts; p++ {
				plane := in[p*size : (p+1)*size]
				nzs[part] += countNonZero(plane)
				for _, e := range s.edges {
					var n uint32
					for _, v := range plane[e.off : e.off+s.cin] {
						// 1 for v ≠ 0 (either sign of zero gives 0), without a branch.
						n += (math.Float32bits(v)&0x7fffffff + 0x7fffffff) >> 31
					}
					missing[part] += e.missing * int64(n)
				}
			}
		}
	})
	var miss int64
	for part := range parts {
		nz += nzs[part]
		miss += missing[part]
	}
	return nz, int64(s.cout) * (int64(s.k*s.k)*nz - miss)
}

// edgePixel is an input pixel of a conv whose K×K taps do not all land
// inside the output map.
type edgePixel struct {
	off     int   // offset of the pixel's channels in a [H, W, Cin] plane
	missing int64 // taps that fall outside
}

// edgePixels lists the input pixels of conv stage s with missing taps.
func (s *stage) edgePixels() []edgePixel {
	oh, ow := s.outHW()
	taps := func(y, osize int) int {
		n := 0
		for a := range s.k {
			if o := y - a + s.pad; o >= 0 && o < osize {
				n++
			}
		}
		return n
	}
	var e []edgePixel
	for y := range s.h {
		ty := taps(y, oh)
		for x := range s.w {
			if m := s.k*s.k - ty*taps(x, ow); m != 0 {
				e = append(e, edgePixel{off: (y*s.w + x) * s.cin, missing: int64(m)})
			}
		}
	}
	return e
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

// encode fills cs.in [T, B, H, W, C] from images i0..i1 of x (NCHW), or
// only [B, H, W, C] when once is set (Direct input computed once).
func (cs *chunkSim) encode(x *tensor.Tensor, seeds []uint64, i0, i1 int, once bool) {
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
			if once {
				copy(cs.in[b*hwc:(b+1)*hwc], img)
				continue
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
// dst[i] = sign(x[i]) if U[0,1) ≤ |x[i]| else 0.
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
	if cs.opts.ExactCurrents {
		cs.exactSynapse(s, in, P)
		return
	}
	out := s.outSize()
	cur := cs.cur[:P*out]
	if !events {
		if s.kind == convStage {
			cs.cols = convDenseLimit(cur, in, s.wt, P, s.h, s.w, s.cin, s.cout, s.k, s.pad, cs.cols, cs.colsLimit())
		} else {
			linearDense(cur, in, s.wt, P, s.cin, s.cout)
		}
		return
	}
	inSize := s.inSize()
	// Planes are ordered (t, b) and later steps carry more events (on the
	// BPTT workload 18–45 % more in the second half of a chunk), so each
	// worker's contiguous range of q takes planes from the whole range:
	// q → q/2 for even q, ⌈P/2⌉ + q/2 for odd q. Planes are independent, so
	// the assignment does not change the result.
	half := (P + 1) / 2
	parallel.For(P, P*inSize*4, func(lo, hi int) {
		for q := lo; q < hi; q++ {
			p := q/2 + q%2*half
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
// writing spikes into cs.spk, and returns the spike count of each readout
// segment (steps Readouts[k−1]+1..Readouts[k]). The current of step t is
// cs.cur[t·curStride:]; curStride 0 feeds the same current at every step.
// Every membrane starts at its initial value (Config.initial).
func (cs *chunkSim) neurons(s *stage, B, curStride int) []int64 {
	cfg := &cs.net.Config
	T := cfg.Timesteps
	n := B * s.outSize()
	theta := cfg.Thresholds[s.spiking]
	cs.u = grow(cs.u, n)
	cfg.initial(s.spiking).fill(cs.u[:n], 0)
	var q []float32 // signed neurons' net counts; nil for unsigned ones
	if cfg.Signed {
		cs.q = grow(cs.q, n)
		q = cs.q[:n]
		clear(q)
	}
	leak := float32(cfg.Leak)
	segs := len(cs.readouts)
	const maxParts = 64
	parts := min(maxParts, max(1, n/4096))
	counts := make([]int64, parts*segs)
	parallel.For(parts, T*n, func(lo, hi int) {
		for part := lo; part < hi; part++ {
			a, b := part*n/parts, (part+1)*n/parts
			t0 := 0
			for k, t1 := range cs.readouts {
				switch {
				case cfg.Burst > 1:
					counts[part*segs+k] = burstScan(cs.spk[t0*n:], cs.cur[t0*curStride:], cs.u, q, t1-t0, n, curStride,
						a, b, theta, leak, cfg.Burst)
				case cfg.Signed:
					counts[part*segs+k] = signedScan(cs.spk[t0*n:], cs.cur[t0*curStride:], cs.u, q, t1-t0, n, curStride,
						a, b, theta, leak)
				default:
					counts[part*segs+k] = neuronScanStrided(cs.spk[t0*n:], cs.cur[t0*curStride:], cs.u, t1-t0, n, curStride,
						a, b, theta, leak, cfg.Reset)
				}
				t0 = t1
			}
		}
	})
	total := make([]int64, segs)
	for part := range parts {
		for k := range segs {
			total[k] += counts[part*segs+k]
		}
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
