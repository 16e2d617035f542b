package snn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"

	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/internal/parallel"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/tensor"
)

// TrainOptions configures a training pass: Forward records a Tape,
// Tape.Backward propagates a loss gradient through time into the weights.
// The zero value with Surrogate set is valid.
type TrainOptions struct {
	Surrogate Surrogate
	// ConvDropout and FCDropout are the dropout probabilities applied to
	// the spikes of the stages the model has a dropout layer after (convs
	// not followed by a pool, hidden FCs). Each image draws one mask per
	// layer, shared by all T steps; surviving spikes are scaled by 1/(1−p).
	ConvDropout, FCDropout float64
	// InputGradient makes Backward also return ∂L/∂x. For Direct input
	// that is the exact gradient; for Poisson input it is the
	// straight-through estimate Σ_t ∂L/∂s[t] (the encoder is treated as the
	// identity, as E[s] = x).
	InputGradient bool
	// CurrentGradient makes Backward record Σ_t ∂L/∂I_1[t], the gradient
	// of the loss with respect to the first layer's output current (the
	// input current of the first spiking layer) summed over the steps;
	// Tape.CurrentGradient returns it. Attacks that invert the network
	// through its first layer use it.
	CurrentGradient bool
	// Frozen skips the weight gradients: Backward leaves the model's
	// gradient tensors untouched and only propagates to the input (for
	// attacks, which optimise images against fixed weights).
	Frozen bool
	// MemoryBudget bounds the bytes of one buffer holding a layer's
	// activations for a chunk of images over all steps, and of the im2col
	// buffers (default 16 MiB). Forward and Backward process the batch in
	// such chunks.
	MemoryBudget int64
	// Path selects the forward synaptic kernels (Auto by density).
	Path Path
	// EventDensity overrides DefaultEventDensity when positive, for the
	// forward synapse and the weight gradient alike.
	EventDensity float64

	// inputSpikes, when set (tests), replaces the encoder: the first
	// layer's input [T, N, H, W, C].
	inputSpikes []float32
	// masks, when set (tests), replaces the drawn dropout masks: per
	// stage, nil or [N, outSize] in the stage's (h, w, c) order.
	masks [][]float32
}

// DefaultTrainBudget is TrainOptions.MemoryBudget's default.
const DefaultTrainBudget = 16 << 20

func (o TrainOptions) budget() int64 {
	if o.MemoryBudget > 0 {
		return o.MemoryBudget
	}
	return DefaultTrainBudget
}

// Validate reports unusable options.
func (o TrainOptions) Validate() error {
	if err := o.Surrogate.Validate(); err != nil {
		return err
	}
	if !(o.ConvDropout >= 0 && o.ConvDropout < 1) || !(o.FCDropout >= 0 && o.FCDropout < 1) {
		return fmt.Errorf("snn: dropout %g/%g outside [0, 1)", o.ConvDropout, o.FCDropout)
	}
	if o.MemoryBudget < 0 || o.EventDensity < 0 {
		return fmt.Errorf("snn: negative memory budget %d or event density %g", o.MemoryBudget, o.EventDensity)
	}
	return nil
}

// Tape holds what Backward needs from a training forward pass, compactly:
// every spiking layer's output spikes as bits, the dropout masks, and the
// output layer's summed input. Membrane potentials are not kept; Backward
// recomputes them one layer at a time from the stored input spikes, which
// reproduces the forward pass bit for bit.
type Tape struct {
	net    *Network
	opts   TrainOptions
	x      *tensor.Tensor
	seeds  []uint64
	n      int           // images
	chunk  int           // images per chunk
	masks  [][]float32   // per stage: [N, outSize] or nil
	bits   [][]spikeBits // [chunk index][stage]: spikes, planes (t, b) of the chunk
	outIn  []float32     // [N, In] Σ_t input of the output layer
	logits *tensor.Tensor
	spikes []int64 // per spiking layer, over images and steps
	done   bool
	dI1    *tensor.Tensor // Σ_t ∂L/∂I_1[t], [N, C1, H1, W1], with CurrentGradient
}

// CurrentGradient returns Σ_t ∂L/∂I_1[t] [N, C1, H1, W1], the gradient
// with respect to the first layer's output current summed over the steps,
// once Backward has run on a tape recorded with
// TrainOptions.CurrentGradient; nil otherwise.
func (tp *Tape) CurrentGradient() *tensor.Tensor { return tp.dI1 }

// Logits returns S = Σ_t W_L·o_{L−1}[t], [N, classes].
func (tp *Tape) Logits() *tensor.Tensor { return tp.logits }

// SpikeRate returns spiking layer l's spikes per neuron per step.
func (tp *Tape) SpikeRate(l int) float64 {
	for _, s := range tp.net.stages {
		if s.spiking == l {
			return ratio(tp.spikes[l], int64(s.outSize())*int64(tp.n)*int64(tp.net.Config.Timesteps))
		}
	}
	return 0
}

// Bytes returns the memory the tape holds (spike bits, masks, sums).
func (tp *Tape) Bytes() int64 {
	var b int64
	for _, c := range tp.bits {
		for _, s := range c {
			b += s.bytes()
		}
	}
	for _, m := range tp.masks {
		b += int64(len(m)) * 4
	}
	return b + int64(len(tp.outIn))*4 + int64(len(tp.logits.Data))*4
}

// maskStream is the PCG stream of an image's dropout masks; its Poisson
// input uses another stream of the same seed (see encode).
const maskStream = 0x5851f42d4c957f2d

// parallelWorkers is the number of goroutines parallel.For uses.
func parallelWorkers() int { return runtime.GOMAXPROCS(0) }

// Forward runs the network in training mode on x [N, C, H, W]: dropout
// masks are active and fixed over time, and what Backward needs is
// recorded. One seed per image is drawn from rng first, in image order; it
// keys that image's Poisson input and its dropout masks, so the result
// does not depend on chunking or thread count. x must not change until
// Backward has run.
func (n *Network) Forward(ctx context.Context, x *tensor.Tensor, rng *rand.Rand, o TrainOptions) (*Tape, error) {
	tp, err := n.newTape(x, rng, o)
	if err != nil {
		return nil, err
	}
	sim := n.trainSim(o)
	defer putSim(sim)
	for i0 := 0; i0 < tp.n; i0 += tp.chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tp.bits = append(tp.bits, tp.forwardChunk(sim, i0, min(tp.n, i0+tp.chunk), nil))
	}
	return tp, nil
}

// newTape validates a training pass's input and options and returns its
// tape before any chunk has run: the images' seeds and dropout masks drawn,
// the output sums allocated.
func (n *Network) newTape(x *tensor.Tensor, rng *rand.Rand, o TrainOptions) (*Tape, error) {
	c := n.Model.Config
	if len(x.Shape) != 4 || x.Shape[0] < 1 || x.Shape[1] != c.InChannels || x.Shape[2] != c.InHeight || x.Shape[3] != c.InWidth {
		return nil, fmt.Errorf("snn: input %v, want [N>0 %d %d %d]", x.Shape, c.InChannels, c.InHeight, c.InWidth)
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	N, T := x.Shape[0], n.Config.Timesteps
	if o.inputSpikes != nil && len(o.inputSpikes) != T*N*c.InChannels*c.InHeight*c.InWidth {
		return nil, fmt.Errorf("snn: %d input spikes for %d steps of %d images", len(o.inputSpikes), T, N)
	}
	budget := o.budget()
	tp := &Tape{net: n, opts: o, x: x, n: N, chunk: n.chunkSize(N, budget), seeds: make([]uint64, N),
		masks: make([][]float32, len(n.stages)), spikes: make([]int64, len(n.Config.Thresholds)),
		logits: tensor.New(N, c.Classes)}
	for i := range tp.seeds {
		tp.seeds[i] = rng.Uint64()
	}
	for si := range n.stages {
		if p := tp.dropout(si); p > 0 {
			tp.masks[si] = make([]float32, N*n.stages[si].outSize())
		}
	}
	if o.masks != nil {
		tp.masks = o.masks
	}
	parallel.For(N, N*1024, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			r := rand.New(rand.NewPCG(tp.seeds[b], maskStream))
			for si := range n.stages {
				if m := tp.masks[si]; m != nil && o.masks == nil {
					size := n.stages[si].outSize()
					nn.FillDropoutMask(m[b*size:(b+1)*size], tp.dropout(si), r)
				}
			}
		}
	})
	L := &n.stages[len(n.stages)-1]
	tp.outIn = make([]float32, N*L.inSize())
	return tp, nil
}

// TrainStep is Forward and Backward in one pass, for a loss whose gradient
// for an image depends only on that image's logits (a mean over images of
// a per-image loss, such as cross-entropy). It runs the batch chunk by
// chunk: after a chunk's forward pass it calls grad with the chunk's
// images i0..i1, their logits [i1−i0, classes] and dS, where grad must
// write ∂L/∂S of those images (same shape), and propagates that chunk back
// at once, while its layer inputs and surrogate derivatives are still in
// memory, so nothing is recomputed. Logits, gradients and ∂L/∂x are those
// of Forward followed by Backward with the same dS, bit for bit. The
// returned tape has the logits and spike rates and cannot be propagated
// again; ∂L/∂x is returned with TrainOptions.InputGradient, else nil.
func (n *Network) TrainStep(ctx context.Context, x *tensor.Tensor, rng *rand.Rand, o TrainOptions,
	grad func(i0, i1 int, logits, dS []float32)) (*Tape, *tensor.Tensor, error) {
	tp, err := n.newTape(x, rng, o)
	if err != nil {
		return nil, nil, err
	}
	k := n.Model.Config.Classes
	dS := tensor.New(tp.n, k)
	bw, dx := tp.startBackward()
	defer tp.releaseBackward(bw)
	sim := n.trainSim(o)
	defer putSim(sim)
	if sim.keep == nil {
		sim.keep = &chunkKeep{}
	}
	for ci, i0 := 0, 0; i0 < tp.n; ci, i0 = ci+1, i0+tp.chunk {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		i1 := min(tp.n, i0+tp.chunk)
		tp.bits = append(tp.bits, tp.forwardChunk(sim, i0, i1, sim.keep))
		grad(i0, i1, tp.logits.Data[i0*k:i1*k], dS.Data[i0*k:i1*k])
		bw.chunk(ci, i0, i1, dS, dx, sim.keep)
	}
	tp.finishBackward(bw)
	return tp, dx, nil
}

// chunkKeep holds what TrainStep's backward pass of a chunk takes from its
// forward pass instead of recomputing it.
type chunkKeep struct {
	direct bool        // the first stage's input is one plane per image
	in     [][]float32 // per stage: its input planes as the synapse saw them
	d      [][]float32 // per spiking stage: σ'(U[t]) [T, B·out]
	// spk and pooled are per-stage buffers of the spikes (masked) and of
	// their pooled planes, which later stages' in slices point into.
	spk, pooled [][]float32
}

func (k *chunkKeep) size(stages int) {
	if len(k.in) != stages {
		k.in = make([][]float32, stages)
		k.d = make([][]float32, stages)
		k.spk = make([][]float32, stages)
		k.pooled = make([][]float32, stages)
	}
}

// trainSim returns a chunk simulator for a training pass, reusing the
// buffers of an earlier one when one is spare.
func (n *Network) trainSim(o TrainOptions) *chunkSim {
	sim := getSim()
	if sim == nil {
		sim = &chunkSim{}
	}
	sim.net, sim.opts, sim.res, sim.readouts = n, Options{Path: o.Path, EventDensity: o.EventDensity}, nil, nil
	sim.colsMax = int(max(1, o.budget()/4))
	return sim
}

// dropout returns the dropout probability after stage si (0 for none).
func (tp *Tape) dropout(si int) float64 {
	s := &tp.net.stages[si]
	switch {
	case !s.dropAfter:
		return 0
	case s.kind == convStage:
		return tp.opts.ConvDropout
	}
	return tp.opts.FCDropout
}

// input fills sim.in with the first layer's input for images i0..i1 and
// reports whether it is one analog plane per image (Direct input, the same
// at every step).
func (tp *Tape) input(sim *chunkSim, i0, i1 int) bool {
	n := tp.net
	c := n.Model.Config
	T, B, hwc := n.Config.Timesteps, i1-i0, c.InChannels*c.InHeight*c.InWidth
	if s := tp.opts.inputSpikes; s != nil {
		sim.in = grow(sim.in, T*B*hwc)
		for t := range T {
			copy(sim.in[t*B*hwc:(t+1)*B*hwc], s[(t*tp.n+i0)*hwc:(t*tp.n+i1)*hwc])
		}
		return false
	}
	direct := n.Config.Encoder == Direct
	planes := T * B
	if direct {
		planes = B
	}
	sim.in = grow(sim.in, planes*hwc)
	sim.encode(tp.x, tp.seeds, i0, i1, direct)
	return direct
}

// useEvents reports whether stage s's synapse runs event-driven on planes
// planes of in.
func (sim *chunkSim) useEvents(s *stage, in []float32, planes int) bool {
	ev, _ := sim.kernels(s, in, planes)
	return ev
}

// kernels reports whether stage s's synapse and its weight gradient run
// event-driven on planes planes of in. They differ only for a small fan-in
// (the first layer), whose synapse always runs events while the weight
// gradient of dense input is one GEMM.
func (sim *chunkSim) kernels(s *stage, in []float32, planes int) (synapse, weights bool) {
	switch sim.opts.Path {
	case Events:
		return true, true
	case Dense:
		return false, false
	}
	size := planes * s.inSize()
	nz := float64(countNonZero(in[:size]))
	synapse = nz < sim.net.eventDensity(s, sim.opts.EventDensity)*float64(size)
	weights = synapse
	if s.k*s.k*s.cin <= smallFanIn {
		weights = nz < DefaultEventDensity*float64(size)
	}
	return synapse, weights
}

// forwardChunk simulates images i0..i1 and returns their spike bits per
// stage. With keep it also keeps every stage's input and surrogate
// derivatives there (for TrainStep) and returns bits only where Backward
// needs this stage's spikes (reset to zero).
func (tp *Tape) forwardChunk(sim *chunkSim, i0, i1 int, keep *chunkKeep) []spikeBits {
	n := tp.net
	T, B := n.Config.Timesteps, i1-i0
	P := T * B
	direct := tp.input(sim, i0, i1)
	in := sim.in
	if keep != nil {
		keep.size(len(n.stages))
		keep.direct = direct
	}
	bitsOut := make([]spikeBits, len(n.stages))
	for si := range n.stages {
		s := &n.stages[si]
		constant := direct && si == 0
		planes := P
		if constant {
			planes = B
		}
		out := s.outSize()
		if keep != nil {
			keep.in[si] = in[:planes*s.inSize()]
		}
		sim.cur = grow(sim.cur, planes*out)
		sim.synapse(s, in, planes, sim.useEvents(s, in, planes))
		if s.kind == outStage {
			k, nin := s.cout, s.inSize()
			for t := range T {
				for b := range B {
					acc := tp.logits.Data[(i0+b)*k : (i0+b+1)*k]
					for j, v := range sim.cur[(t*B+b)*k : (t*B+b+1)*k] {
						acc[j] += v
					}
					sum := tp.outIn[(i0+b)*nin : (i0+b+1)*nin]
					for j, v := range in[(t*B+b)*nin : (t*B+b+1)*nin] {
						sum[j] += v
					}
				}
			}
			break
		}
		curStride := B * out
		if constant {
			curStride = 0
		}
		spk, pooled := &sim.spk, &sim.pooled
		if keep != nil {
			spk, pooled = &keep.spk[si], &keep.pooled[si]
		}
		*spk = grow(*spk, P*out)
		if keep != nil {
			keep.d[si] = grow(keep.d[si], P*out)
			tp.spikes[s.spiking] += tp.scanSurrogate(*spk, keep.d[si], sim.cur, B, out, curStride, s)
		} else {
			tp.spikes[s.spiking] += tp.scan(*spk, sim.cur, B, out, curStride, s)
		}
		if keep == nil || n.Config.Reset == ResetZero {
			bitsOut[si] = packSpikes((*spk)[:P*out], &n.Config)
		}
		if m := tp.masks[si]; m != nil {
			applyMask((*spk)[:P*out], m[i0*out:i1*out], T)
		}
		in = (*spk)[:P*out]
		if s.poolAfter {
			oh, ow := s.outHW()
			*pooled = grow(*pooled, P*(oh/2)*(ow/2)*s.cout)
			poolNHWC(*pooled, in, P, oh, ow, s.cout)
			in = (*pooled)[:P*(oh/2)*(ow/2)*s.cout]
		}
	}
	return bitsOut
}

// scan runs the neuron recurrence of stage s for B images over all steps,
// writing spikes [T, B·out] into spk, and returns the spike count.
func (tp *Tape) scan(spk, cur []float32, B, out, curStride int, s *stage) int64 {
	cfg := &tp.net.Config
	T, nn := cfg.Timesteps, B*out
	theta := cfg.Thresholds[s.spiking]
	u0 := cfg.initial(s.spiking)
	u := make([]float32, nn) // membranes; each part uses its own range
	var q []float32          // signed neurons' net spike counts
	if cfg.Signed {
		q = make([]float32, nn)
	}
	return neuronParts(nn, T, func(a, b int) int64 {
		u0.fill(u[a:b], a)
		if cfg.Burst > 1 {
			return burstScan(spk, cur, u, q, T, nn, curStride, a, b, theta, float32(cfg.Leak), cfg.Burst)
		}
		if cfg.Signed {
			return signedScan(spk, cur, u, q, T, nn, curStride, a, b, theta, float32(cfg.Leak))
		}
		return neuronScanStrided(spk, cur, u, T, nn, curStride, a, b, theta, float32(cfg.Leak), cfg.Reset)
	})
}

// scanSurrogate is scan that also writes the surrogate derivative σ'(U[t])
// of every neuron and step into d [T, B·out] (see surrogate), in the same
// pass over the current.
func (tp *Tape) scanSurrogate(spk, d, cur []float32, B, out, curStride int, s *stage) int64 {
	cfg := &tp.net.Config
	T, nn := cfg.Timesteps, B*out
	theta := cfg.Thresholds[s.spiking]
	u0 := cfg.initial(s.spiking)
	return neuronParts(nn, T, func(a, b int) int64 {
		if cfg.Burst > 1 || cfg.Signed {
			return burstSurrogateScan(spk, d, cur, T, nn, curStride, a, b, theta, float32(cfg.Leak), cfg.burst(), cfg.Signed, u0, tp.opts.Surrogate)
		}
		return neuronScanSurrogate(spk, d, cur, T, nn, curStride, a, b, theta, float32(cfg.Leak), cfg.Reset, u0, tp.opts.Surrogate)
	})
}

// neuronParts splits nn neurons into up to 64 equal ranges (one per 4,096
// neurons), runs f on each range [a, b) in parallel as a recurrence over
// T steps, and returns the sum of f's results.
func neuronParts(nn, T int, f func(a, b int) int64) int64 {
	parts := min(64, max(1, nn/4096))
	counts := make([]int64, parts)
	parallel.For(parts, T*nn, func(lo, hi int) {
		for part := lo; part < hi; part++ {
			counts[part] = f(part*nn/parts, (part+1)*nn/parts)
		}
	})
	var total int64
	for _, c := range counts {
		total += c
	}
	return total
}

// applyMask multiplies each of the T steps of x [T, B, size] by mask
// [B, size].
func applyMask(x, mask []float32, T int) {
	n := len(mask)
	parallel.For(T, T*n, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			row := x[t*n : (t+1)*n]
			for i, m := range mask {
				row[i] *= m
			}
		}
	})
}

// Backward propagates dS = ∂L/∂S [N, classes] back through time and adds
// ∂L/∂W of every weighted layer to the model's gradients (the G tensors of
// its parameters, PyTorch layout). The reset is detached: ∂U_after/∂U_before
// is 1 for a subtractive reset and 1 − o for a reset to zero; the spike's
// derivative is the surrogate's. Thresholds and leak get no gradient. With
// TrainOptions.InputGradient it returns ∂L/∂x [N, C, H, W], else nil. A
// tape can be propagated once.
func (tp *Tape) Backward(ctx context.Context, dS *tensor.Tensor) (*tensor.Tensor, error) {
	n := tp.net
	c := n.Model.Config
	if !tensor.SameShape(dS.Shape, []int{tp.n, c.Classes}) {
		return nil, fmt.Errorf("snn: loss gradient %v, want [%d %d]", dS.Shape, tp.n, c.Classes)
	}
	if tp.done {
		return nil, fmt.Errorf("snn: tape already propagated")
	}
	bw, dx := tp.startBackward()
	defer tp.releaseBackward(bw)
	for ci, i0 := 0, 0; i0 < tp.n; ci, i0 = ci+1, i0+tp.chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		bw.chunk(ci, i0, min(tp.n, i0+tp.chunk), dS, dx, nil)
	}
	tp.finishBackward(bw)
	return dx, nil
}

// startBackward marks the tape propagated and returns the buffers of a
// backward pass and ∂L/∂x to fill (nil without InputGradient).
func (tp *Tape) startBackward() (*backward, *tensor.Tensor) {
	n := tp.net
	c := n.Model.Config
	tp.done = true
	var dx *tensor.Tensor
	if tp.opts.InputGradient {
		dx = tensor.New(tp.n, c.InChannels, c.InHeight, c.InWidth)
	}
	if tp.opts.CurrentGradient {
		s := &n.stages[0]
		oh, ow := s.outHW()
		tp.dI1 = tensor.New(tp.n, s.cout, oh, ow)
	}
	var gw [][]float32
	if !tp.opts.Frozen {
		gw = make([][]float32, len(n.stages))
		for si := range n.stages {
			gw[si] = make([]float32, len(n.stages[si].wt))
		}
	}
	bw := getBackward()
	if bw == nil {
		bw = &backward{}
	}
	bw.tp, bw.gw, bw.sim = tp, gw, n.trainSim(tp.opts)
	return bw, dx
}

// releaseBackward returns bw's buffers for reuse.
func (tp *Tape) releaseBackward(bw *backward) {
	putSim(bw.sim)
	bw.tp, bw.gw, bw.sim = nil, nil, nil
	putBackward(bw)
}

// finishBackward adds the weight gradients bw accumulated to the model's.
func (tp *Tape) finishBackward(bw *backward) {
	if tp.opts.Frozen {
		return
	}
	n, gw := tp.net, bw.gw
	for si := range n.stages {
		s := &n.stages[si]
		switch {
		case s.kind == convStage:
			addConvGrad(s.grad.Data, gw[si], s.cout, s.cin, s.k)
		case s.perm:
			addLinearHWCGrad(s.grad.Data, gw[si], s.cout, s.fc, s.fh, s.fw)
		default:
			addLinearGrad(s.grad.Data, gw[si], s.cout, s.cin)
		}
	}
}

// backward holds the buffers of one Backward call.
type backward struct {
	tp  *Tape
	sim *chunkSim
	gw  [][]float32 // per stage, transposed layout

	g, gNext, d, xs, gsum, gx, wcols []float32
	acc                              [][]float32 // weightGrad's per-worker accumulators
}

// chunk propagates the gradient of images i0..i1 (chunk ci). With keep
// (TrainStep) the stages' inputs and surrogate derivatives come from the
// chunk's forward pass; without, they are recomputed from the tape.
func (bw *backward) chunk(ci, i0, i1 int, dS, dx *tensor.Tensor, keep *chunkKeep) {
	n := bw.tp.net
	bw.outputStage(i0, i1, dS)
	nextConstant := true // gNext is [B, in], the same at every step
	for si := len(n.stages) - 2; si >= 0; si-- {
		bw.spikingStage(ci, si, i0, i1, dx, keep, nextConstant)
		nextConstant = false // bw.gNext is now [T, B, in]
	}
}

// outputStage starts the chunk's backward pass at the output layer. As
// S = Σ_t W_L·x_L[t], it adds ∂L/∂W_L = (Σ_t x_L[t])ᵀ·dS to bw.gw (unless
// frozen) and writes ∂L/∂x_L = dS·W_L, the same for every t, into bw.gNext
// [B, in].
func (bw *backward) outputStage(i0, i1 int, dS *tensor.Tensor) {
	tp, n := bw.tp, bw.tp.net
	B := i1 - i0
	L := len(n.stages) - 1
	sL := &n.stages[L]
	nin, k := sL.inSize(), sL.cout
	gS := dS.Data[i0*k : i1*k]
	if !tp.opts.Frozen {
		gemm.Sgemm(true, false, nin, k, B, 1, tp.outIn[i0*nin:i1*nin], nin, gS, k, 1, bw.gw[L], k)
	}
	bw.gNext = grow(bw.gNext, B*nin)
	gemm.Sgemm(false, true, B, nin, k, 1, gS, k, sL.wt, k, 0, bw.gNext, nin)
}

// spikingStage propagates the gradient through spiking stage si for
// images i0..i1: from bw.gNext, the gradient of the next stage's input
// ([B, in] when nextConstant, else [T, B, in]), it adds ∂L/∂W of stage si
// to bw.gw (unless frozen) and passes the gradient of the stage's own
// input on (see passDown).
func (bw *backward) spikingStage(ci, si, i0, i1 int, dx *tensor.Tensor, keep *chunkKeep, nextConstant bool) {
	tp, n := bw.tp, bw.tp.net
	s := &n.stages[si]
	T, B := n.Config.Timesteps, i1-i0
	out := s.outSize()
	g := bw.outputGrad(s, si, i0, i1, nextConstant)
	xs, d, constant, wEvents := bw.stageTerms(ci, si, i0, i1, keep)
	var obits []uint64
	if n.Config.Reset == ResetZero {
		obits = tp.bits[ci][si].any
	}
	bw.reverse(g, d, obits, B*out)
	// g is now ∂L/∂I[t]. Weight gradient: Σ over planes of input ⊗ g.
	planes := T * B
	gI := g
	if constant {
		planes = B
		bw.gsum = sumSteps(grow(bw.gsum, B*out), g, T)
		gI = bw.gsum
	}
	if !tp.opts.Frozen {
		weightGrad(bw.gw[si], s, xs, gI, planes, wEvents, &bw.wcols, bw.sim.colsMax, &bw.acc)
	}
	bw.passDown(s, si, i0, i1, g, constant, dx)
}

// outputGrad returns ∂L/∂o [T, B, out] of stage si for images i0..i1,
// masked by the stage's dropout mask. It is bw.gNext itself when there is
// neither a pool nor a constant gradient (the two buffers swap, as bw.gNext
// is rewritten later), else bw.g filled by expand.
func (bw *backward) outputGrad(s *stage, si, i0, i1 int, nextConstant bool) []float32 {
	T := bw.tp.net.Config.Timesteps
	P := T * (i1 - i0)
	out := s.outSize()
	if !s.poolAfter && !nextConstant {
		bw.g, bw.gNext = bw.gNext, bw.g
	} else {
		bw.g = grow(bw.g, P*out)
		bw.expand(bw.g[:P*out], s, i1-i0, nextConstant)
	}
	g := bw.g[:P*out]
	if m := bw.tp.masks[si]; m != nil {
		applyMask(g, m[i0*out:i1*out], T)
	}
	return g
}

// stageTerms returns stage si's input planes xs and surrogate derivatives
// d [T, B·out] for images i0..i1, whether the input is one plane per image
// (constant over time), and whether the weight gradient runs event-driven.
// With keep they are the forward pass's; without, the input is rebuilt
// (stageInput) and the synapse and surrogate rerun into bw.sim.cur and bw.d.
func (bw *backward) stageTerms(ci, si, i0, i1 int, keep *chunkKeep) (xs, d []float32, constant, wEvents bool) {
	tp := bw.tp
	s := &tp.net.stages[si]
	T, B := tp.net.Config.Timesteps, i1-i0
	P := T * B
	out := s.outSize()
	if keep != nil {
		constant = keep.direct && si == 0
		xs, d = keep.in[si], keep.d[si][:P*out]
	} else {
		constant = bw.stageInput(ci, si, i0, i1)
	}
	planes := P
	if constant {
		planes = B
	}
	if keep == nil {
		xs = bw.xs[:planes*s.inSize()]
		if si == 0 {
			xs = bw.sim.in[:planes*s.inSize()]
		}
	}
	events, wEvents := bw.sim.kernels(s, xs, planes)
	if keep == nil {
		bw.sim.cur = grow(bw.sim.cur, planes*out)
		bw.sim.synapse(s, xs, planes, events)
		curStride := B * out
		if constant {
			curStride = 0
		}
		bw.d = grow(bw.d, P*out)
		tp.surrogate(bw.d, bw.sim.cur, s, B, curStride)
		d = bw.d[:P*out]
	}
	return xs, d, constant, wEvents
}

// passDown writes the gradient of stage si's input from g = ∂L/∂I [T, B,
// out]: for a later stage into bw.gNext [T, B, in]; for the first stage
// into dx (∂L/∂x, NCHW) when dx is not nil, and Σ_t g[t] into tp.dI1
// (NCHW) when tp.dI1 is not nil. For a first stage with constant input
// bw.gsum already holds Σ_t g[t].
func (bw *backward) passDown(s *stage, si, i0, i1 int, g []float32, constant bool, dx *tensor.Tensor) {
	tp := bw.tp
	T, B := tp.net.Config.Timesteps, i1-i0
	P := T * B
	out := s.outSize()
	if si == 0 && (dx != nil || tp.dI1 != nil) && !constant {
		bw.gsum = sumSteps(grow(bw.gsum, B*out), g, T)
	}
	if si == 0 && tp.dI1 != nil {
		oh, ow := s.outHW()
		toNCHW(tp.dI1.Data[i0*out:i1*out], bw.gsum, B, oh, ow, s.cout)
	}
	switch {
	case si > 0:
		bw.gNext = grow(bw.gNext, P*s.inSize())
		inputGrad(bw.gNext, s, g, P, &bw.sim.cols, bw.sim.colsMax)
	case dx != nil:
		bw.gx = grow(bw.gx, B*s.inSize())
		inputGrad(bw.gx, s, bw.gsum, B, &bw.sim.cols, bw.sim.colsMax)
		toNCHW(dx.Data[i0*s.inSize():i1*s.inSize()], bw.gx, B, s.h, s.w, s.cin)
	}
}

// expand writes ∂L/∂o [T, B, out] of stage s from bw.gNext, the gradient
// of the next stage's input ([T, B, in], or [B, in] when constant over
// time), undoing the average pool. (chunk takes bw.gNext itself when there
// is neither a pool nor a constant gradient.)
func (bw *backward) expand(g []float32, s *stage, B int, constant bool) {
	T := bw.tp.net.Config.Timesteps
	P := T * B
	out := s.outSize()
	if !s.poolAfter {
		if !constant {
			copy(g, bw.gNext[:P*out])
			return
		}
		for t := range T {
			copy(g[t*B*out:(t+1)*B*out], bw.gNext[:B*out])
		}
		return
	}
	oh, ow := s.outHW()
	ph, pw, c := oh/2, ow/2, s.cout
	parallel.For(P, P*out, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src := p
			if constant {
				src = p % B
			}
			gp := bw.gNext[src*ph*pw*c : (src+1)*ph*pw*c]
			dst := g[p*out : (p+1)*out]
			for y := range oh {
				for x := range ow {
					d := dst[(y*ow+x)*c : (y*ow+x+1)*c]
					if y/2 >= ph || x/2 >= pw {
						clear(d) // rows and columns the floor of the pool drops
						continue
					}
					sp := gp[((y/2)*pw+x/2)*c : ((y/2)*pw+x/2+1)*c]
					for ch, v := range sp {
						d[ch] = 0.25 * v
					}
				}
			}
		}
	})
}

// stageInput rebuilds stage si's input for images i0..i1 into bw.xs (into
// bw.sim.in for the first stage) and reports whether it is one plane per
// image (Direct input).
func (bw *backward) stageInput(ci, si, i0, i1 int) bool {
	tp, n := bw.tp, bw.tp.net
	if si == 0 {
		return tp.input(bw.sim, i0, i1)
	}
	T, B := n.Config.Timesteps, i1-i0
	P := T * B
	prev := &n.stages[si-1]
	out := prev.outSize()
	bw.d = grow(bw.d, P*out) // scratch: the previous stage's spikes
	spk := bw.d[:P*out]
	tp.bits[ci][si-1].unpack(spk)
	if m := tp.masks[si-1]; m != nil {
		applyMask(spk, m[i0*out:i1*out], T)
	}
	bw.xs = grow(bw.xs, P*n.stages[si].inSize())
	if prev.poolAfter {
		oh, ow := prev.outHW()
		poolNHWC(bw.xs, spk, P, oh, ow, prev.cout)
	} else {
		copy(bw.xs, spk)
	}
	return false
}

// surrogate runs stage s's neuron recurrence for B images on the current
// cur (step t at cur[t·curStride:]) and writes the surrogate derivative
// σ'(U[t]) of every neuron and step into d [T, B·out], where U[t] is the
// membrane before the spike and reset.
func (tp *Tape) surrogate(d, cur []float32, s *stage, B, curStride int) {
	cfg := &tp.net.Config
	sg := tp.opts.Surrogate
	T, nn := cfg.Timesteps, B*s.outSize()
	theta := cfg.Thresholds[s.spiking]
	u0 := cfg.initial(s.spiking)
	neuronParts(nn, T, func(a, b int) int64 {
		if cfg.Burst > 1 || cfg.Signed {
			burstSurrogateScan(nil, d, cur, T, nn, curStride, a, b, theta, float32(cfg.Leak), cfg.burst(), cfg.Signed, u0, sg)
			return 0
		}
		neuronSurrogate(d, cur, T, nn, curStride, a, b, theta, float32(cfg.Leak), cfg.Reset, u0, sg)
		return 0
	})
}

// reverse turns g = ∂L/∂o [T, n] into ∂L/∂I [T, n] in place, using the
// surrogate derivatives d [T, n]: going back in time,
//
//	∂L/∂U[t] = ∂L/∂o[t]·σ'(U[t]) + c[t]·r[t],   c[t−1] = λ·∂L/∂U[t],
//
// where c[T−1] = 0 and r[t] = ∂U_after/∂U_before is 1 (subtractive reset)
// or 1 − o[t] (reset to zero; spikes from obits). ∂L/∂I[t] = ∂L/∂U[t].
func (bw *backward) reverse(g, d []float32, obits []uint64, n int) {
	cfg := &bw.tp.net.Config
	T := cfg.Timesteps
	leak := float32(cfg.Leak)
	parts := min(64, max(1, n/4096))
	parallel.For(parts, T*n, func(lo, hi int) {
		for part := lo; part < hi; part++ {
			neuronReverse(g, d, obits, T, n, part*n/parts, (part+1)*n/parts, leak)
		}
	})
}

// sumSteps writes Σ_t g[t] into dst [size] for g [T, size].
func sumSteps(dst, g []float32, T int) []float32 {
	n := len(dst)
	copy(dst, g[:n])
	for t := 1; t < T; t++ {
		for i, v := range g[t*n : (t+1)*n] {
			dst[i] += v
		}
	}
	return dst
}

// weightGrad adds Σ over planes of in ⊗ gI into gw (stage s's transposed
// layout): for a conv, gw[(a·K+b)·Cin+ci][co] += in[y, x, ci]·gI[y−a+pad,
// x−b+pad, co]; for a linear layer gw[i][o] += in[i]·gI[o]. Sparse input
// runs event-driven, one accumulator per worker (workers after the first
// use zeroed buffers from *accs, grown as needed); dense input is one GEMM
// over im2col columns.
func weightGrad(gw []float32, s *stage, in, gI []float32, planes int, events bool, cols *[]float32, limit int, accs *[][]float32) {
	inSize, out := s.inSize(), s.outSize()
	if !events {
		if s.kind != convStage {
			gemm.Sgemm(true, false, s.cin, s.cout, planes, 1, in[:planes*inSize], s.cin, gI[:planes*out], s.cout, 1, gw, s.cout)
			return
		}
		*cols = convWeightGradDense(gw, in, gI, planes, s.h, s.w, s.cin, s.cout, s.k, s.pad, *cols, limit)
		return
	}
	workers := max(1, min(planes, parallelWorkers()))
	for len(*accs) < workers {
		*accs = append(*accs, nil)
	}
	acc := (*accs)[:workers]
	parallel.For(workers, planes*inSize*4, func(lo, hi int) {
		for wk := lo; wk < hi; wk++ {
			a := gw
			if wk > 0 {
				acc[wk] = grow(acc[wk], len(gw))
				clear(acc[wk])
				a = acc[wk]
			}
			for p := wk * planes / workers; p < (wk+1)*planes/workers; p++ {
				src, gp := in[p*inSize:(p+1)*inSize], gI[p*out:(p+1)*out]
				if s.kind == convStage {
					convWeightGradEvents(a, src, gp, s.h, s.w, s.cin, s.cout, s.k, s.pad)
				} else {
					linearWeightGradEvents(a, src, gp, s.cin, s.cout)
				}
			}
		}
	})
	// gw[i] += a[i] for each further worker in turn: the same sums for
	// every split of the elements.
	parallel.For(len(gw), len(gw)*(workers-1), func(lo, hi int) {
		for _, a := range acc[1:] {
			for i, v := range a[lo:hi] {
				gw[lo+i] += v
			}
		}
	})
}

// convWeightGradDense adds colsᵀ·g into gw [K·K·Cin, Cout], building the
// im2col columns of in chunk by chunk in cols (grown as needed, returned).
func convWeightGradDense(gw, in, g []float32, p, h, w, cin, cout, k, pad int, cols []float32, limit int) []float32 {
	oh, ow := h+2*pad-k+1, w+2*pad-k+1
	rowLen := k * k * cin
	perPlane := oh * ow * rowLen
	chunk := max(1, min(p, limit/max(perPlane, 1)))
	cols = grow(cols, chunk*perPlane)
	for p0 := 0; p0 < p; p0 += chunk {
		p1 := min(p, p0+chunk)
		c := cols[:(p1-p0)*perPlane]
		parallel.For(p1-p0, len(c), func(lo, hi int) {
			for q := lo; q < hi; q++ {
				im2colNHWC(c[q*perPlane:(q+1)*perPlane], in[(p0+q)*h*w*cin:(p0+q+1)*h*w*cin], h, w, cin, k, pad, oh, ow)
			}
		})
		rows := (p1 - p0) * oh * ow
		gemm.Sgemm(true, false, rowLen, cout, rows, 1, c, rowLen, g[p0*oh*ow*cout:p1*oh*ow*cout], cout, 1, gw, cout)
	}
	return cols
}

// inputGrad writes ∂L/∂in [planes, inSize] of stage s from ∂L/∂I
// [planes, outSize].
func inputGrad(dst []float32, s *stage, gI []float32, planes int, cols *[]float32, limit int) {
	if s.kind != convStage {
		gemm.Sgemm(false, true, planes, s.cin, s.cout, 1, gI[:planes*s.cout], s.cout, s.wt, s.cout, 0, dst[:planes*s.cin], s.cin)
		return
	}
	oh, ow := s.outHW()
	if convInputGradDirect(dst[:planes*s.inSize()], gI, s.back, planes, oh, ow, s.cout, s.cin, s.k, s.pad, limit) {
		return
	}
	*cols = convDenseLimit(dst[:planes*s.inSize()], gI, s.back, planes, oh, ow, s.cout, s.cin, s.k, s.k-1-s.pad, *cols, limit)
}

// toNCHW converts B planes [H, W, C] into [C, H, W] order.
func toNCHW(dst, src []float32, B, h, w, c int) {
	for b := range B {
		for p := range h * w {
			for ch := range c {
				dst[b*h*w*c+ch*h*w+p] = src[(b*h*w+p)*c+ch]
			}
		}
	}
}

// addConvGrad adds gw [K, K, Cin, Cout] into g [Cout, Cin, K, K].
func addConvGrad(g, gw []float32, cout, cin, k int) {
	for co := range cout {
		for ci := range cin {
			for a := range k {
				for b := range k {
					g[((co*cin+ci)*k+a)*k+b] += gw[((a*k+b)*cin+ci)*cout+co]
				}
			}
		}
	}
}

// addLinearGrad adds gw [In, Out] into g [Out, In].
func addLinearGrad(g, gw []float32, out, in int) {
	for o := range out {
		for i := range in {
			g[o*in+i] += gw[i*out+o]
		}
	}
}

// addLinearHWCGrad adds gw [H·W·C, Out] (inputs in (h, w, c) order) into
// g [Out, C·H·W].
func addLinearHWCGrad(g, gw []float32, out, c, h, wd int) {
	in := c * h * wd
	for o := range out {
		for ch := range c {
			for y := range h {
				for x := range wd {
					g[o*in+(ch*h+y)*wd+x] += gw[((y*wd+x)*c+ch)*out+o]
				}
			}
		}
	}
}
