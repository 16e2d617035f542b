package workload

import (
	"context"
	"math/rand/v2"
	"slices"

	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/optim"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// The BPTT workload's training settings, shared with scripts/bench_torch.py.
const (
	BPTTConvDropout = 0.1
	BPTTFCDropout   = 0.5
	BPTTLR          = 1e-4
	BPTTWeightDecay = 5e-4
)

// BPTTThresholds returns the fixed thresholds of the BPTT workload's spiking
// version of DefaultNet (conv1..conv4, fc1). They were found by bisection,
// layer by layer, so that on the first 64 embedded Fashion-MNIST test
// images (Poisson input, T = 50, the workload's dropout) every layer spikes
// at about 5 % of its neurons per step before training (measured 4.9, 5.0,
// 5.0, 4.8, 4.8 %; TestBPTTSpikeRates keeps them within 2–10 %), the
// activity of a converted network. The untrained seed-0 weights have no
// meaningful balanced thresholds, and a network that is nearly silent or
// saturated would make the event-driven kernels unrepresentatively fast or
// slow.
func BPTTThresholds() []float32 { return []float32{8.6, 1.1, 0.72, 1.1, 0.9} }

// BPTTNet returns the spiking version of DefaultNet used by the BPTT
// workload: IF neurons (λ = 1), subtractive reset, Poisson input, T steps,
// thresholds BPTTThresholds().
func BPTTNet(T int) (*snn.Network, error) { return BPTTNetOf(T, BPTTNeuron{}) }

// BPTTNeuron varies the BPTT workload's neurons and input: burst neurons
// of at most Burst spikes per step (0 and 1: ordinary), signed neurons,
// and direct (analog) input in place of Poisson spikes.
type BPTTNeuron struct {
	Burst  int
	Signed bool
	Direct bool
	// Thresholds replaces BPTTThresholds() when not nil (one per spiking
	// layer), before the division for burst neurons.
	Thresholds []float32
}

// BPTTNetOf is BPTTNet with the neurons and input of nr. For burst
// neurons the first threshold is divided by Burst, as a conversion divides
// it (the others are ratios of clips), so that the first layer carries
// its current at Burst times the resolution.
func BPTTNetOf(T int, nr BPTTNeuron) (*snn.Network, error) {
	th := BPTTThresholds()
	if nr.Thresholds != nil {
		th = slices.Clone(nr.Thresholds)
	}
	if nr.Burst > 1 {
		th[0] /= float32(nr.Burst)
	}
	enc := snn.Poisson
	if nr.Direct {
		enc = snn.Direct
	}
	return snn.New(DefaultNet(), snn.Config{Timesteps: T, Leak: 1, Reset: snn.ResetSubtract, Encoder: enc,
		Thresholds: th, Burst: nr.Burst, Signed: nr.Signed})
}

// BPTT is one training step of a spiking network by backpropagation
// through time: the forward pass (training mode: Poisson input, dropout
// masks fixed over T, triangle surrogate), cross-entropy on the summed
// output potential S, the backward pass, an Adam step (AMSGrad, lr 1e-4, weight decay
// 5e-4) and SyncWeights.
type BPTT struct {
	Net    *snn.Network
	X      *tensor.Tensor
	Labels []int32
	Opts   snn.TrainOptions

	opt  *optim.Adam
	rng  *rand.Rand
	Last *snn.Tape // the last step's tape (spike rates, size)
	Loss float64   // the last step's loss
}

// NewBPTT returns the BPTT step of net on x with the workload's options.
func NewBPTT(net *snn.Network, x *tensor.Tensor, labels []int32) *BPTT {
	return &BPTT{Net: net, X: x, Labels: labels,
		Opts: snn.TrainOptions{Surrogate: snn.DefaultSurrogate(), ConvDropout: BPTTConvDropout, FCDropout: BPTTFCDropout},
		opt:  optim.NewAdam(BPTTLR, BPTTWeightDecay, true), rng: rand.New(rand.NewPCG(4, 4))}
}

// Run performs one step.
func (b *BPTT) Run(ctx context.Context) error {
	m := b.Net.Model
	m.ZeroGrad()
	// Cross-entropy's gradient for an image depends only on its logits, so
	// each chunk of the batch is propagated back right after its forward
	// pass (snn.Network.TrainStep); the gradients are those of Forward,
	// CrossEntropy and Backward, bit for bit.
	n, k := b.X.Shape[0], m.Config.Classes
	tp, _, err := b.Net.TrainStep(ctx, b.X, b.rng, b.Opts, func(i0, i1 int, logits, dS []float32) {
		loss.CrossEntropyRows(dS, logits, b.Labels[i0:i1], k, n)
	})
	if err != nil {
		return err
	}
	l, _ := loss.CrossEntropy(tp.Logits(), b.Labels)
	b.opt.Step(m.Params())
	b.Net.SyncWeights()
	b.Last, b.Loss = tp, l
	return nil
}

// Step returns the step as a Step; it panics on an error, which only a
// cancelled context or a mismatched input can cause.
func (b *BPTT) Step(ctx context.Context) Step {
	return Step{Batch: b.X.Shape[0], Run: func() {
		if err := b.Run(ctx); err != nil {
			panic(err)
		}
	}}
}

// SpikeRates returns the last step's spikes per neuron per step of every
// spiking layer.
func (b *BPTT) SpikeRates() []float64 {
	if b.Last == nil {
		return nil
	}
	r := make([]float64, len(b.Net.Config.Thresholds))
	for l := range r {
		r[l] = b.Last.SpikeRate(l)
	}
	return r
}
