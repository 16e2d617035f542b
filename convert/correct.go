package convert

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Potential correction
//
// A converted layer's mean output per channel, rate·θ, falls short of (or
// exceeds) the ANN's mean activation by an error that the layers before it
// pass on and that a few time steps cannot average out. Correct measures
// that error channel by channel on calibration images and moves each
// channel's initial membrane by T times it (snn.Config.ChannelInit): a
// head start of δ over T steps adds about δ/θ spikes, δ/T to the mean
// output. The layers are corrected in order, so each sees the earlier
// ones corrected, and the sweep is repeated, as the response of a spike
// count to the head start is a staircase that one linear step only
// approaches. A spike of layer l stands for the ANN activation Λ_l =
// θ_0·θ_1·…·θ_l (spikes are 1, and each threshold is balanced on the
// currents the earlier layers' spikes make), so the target of layer l's
// channel c, in spikes per step, is the ANN's mean of min(ReLU(z), Λ_l)/Λ_l
// over the calibration images (z its pre-activation): the spiking layer
// cannot exceed one spike per step (G spikes, and a clip of G·Λ_l, for
// burst neurons). This is the
// potential correction of SNN Calibration (Li et al., ICML 2021), run on
// synthetic images instead of real ones.

// CorrectOptions configures Correct.
type CorrectOptions struct {
	// Passes is how many sweeps over the layers Correct makes (≥ 1).
	Passes int
	// Batch is how many images one ANN forward pass takes (0: 256).
	Batch int
}

// DefaultCorrectPasses is the sweeps of the default correction: on the
// Fashion-MNIST network at T = 4 the validation accuracy rose over three
// sweeps and changed by less than 0.05 pp in a fourth.
const DefaultCorrectPasses = 3

// Correct returns per-channel initial membranes (fractions of each
// layer's threshold, for snn.Config.ChannelInit) that match, channel by
// channel, the mean output of every hidden spiking layer of (m, cfg) on
// the calibration images calib [N, C, H, W] to the ANN's mean clipped
// activation. cfg's InitMembrane is the starting point (ChannelInit, if
// set, is replaced); rng draws the Poisson input, if any. The model's
// weights are only read, but its ANN forward pass caches activations in
// its layers.
func Correct(ctx context.Context, m *vgg.Model, cfg snn.Config, calib *tensor.Tensor, o CorrectOptions, rng *rand.Rand) ([][]float32, error) {
	if err := checkCalib(calib); err != nil {
		return nil, err
	}
	if o.Passes < 1 || o.Passes > 100 {
		return nil, fmt.Errorf("convert: %d correction passes outside [1, 100]", o.Passes)
	}
	if o.Batch == 0 {
		o.Batch = annBatch
	}
	cfg.ChannelInit = nil
	// One network, reconfigured for every pass: the passes then share its
	// weights and simulation buffers.
	net, err := snn.New(m, cfg)
	if err != nil {
		return nil, err
	}
	// A layer of burst neurons passes on up to G spikes per step: its clip
	// is G·Λ_l, and its target G times the clipped rate.
	g := float64(max(1, cfg.Burst))
	clips := make([]float64, len(cfg.Thresholds))
	prod := 1.0
	for l, th := range cfg.Thresholds {
		prod *= float64(th)
		clips[l] = g * prod
	}
	target, err := clippedRates(ctx, m, calib, clips, o.Batch)
	if err != nil {
		return nil, err
	}
	for _, t := range target {
		for c := range t {
			t[c] *= g
		}
	}
	init := make([][]float32, len(target))
	for l, t := range target {
		init[l] = make([]float32, len(t))
		for c := range init[l] {
			init[l][c] = float32(cfg.InitMembrane)
		}
	}
	T := float64(cfg.Timesteps)
	for range o.Passes {
		for l := range init {
			cfg.ChannelInit = init
			got, err := spikeMeans(ctx, net, cfg, calib, l, rng)
			if err != nil {
				return nil, err
			}
			for c, want := range target[l] { // both in spikes per neuron and step
				v := float64(init[l][c]) + (want-got[c])*T
				init[l][c] = float32(math.Max(-snn.MaxChannelInit, math.Min(snn.MaxChannelInit, v)))
			}
		}
	}
	return init, nil
}

// clippedRates runs the ANN on x and returns, for every hidden weighted
// layer l (the spiking layers), the mean over images and positions of
// min(ReLU(z), clips[l])/clips[l] per output channel, z being the layer's
// output before its activation.
func clippedRates(ctx context.Context, m *vgg.Model, x *tensor.Tensor, clips []float64, batch int) ([][]float64, error) {
	if h := hiddenLayers(m); h != len(clips) {
		return nil, fmt.Errorf("convert: the ANN has %d hidden weighted layers, the spiking network %d", h, len(clips))
	}
	sums := make([][]float64, len(clips))
	counts := make([]int, len(clips))
	err := eachHiddenOutput(ctx, m, x, batch, func(l int, h *tensor.Tensor, _ int) error {
		theta := clips[l]
		if len(h.Shape) == 4 { // conv: CNHW, channel c is one block
			C, plane := h.Shape[0], h.Len()/h.Shape[0]
			if sums[l] == nil {
				sums[l] = make([]float64, C)
			}
			for c := range C {
				var s float64
				for _, v := range h.Data[c*plane : (c+1)*plane] {
					s += math.Min(math.Max(float64(v), 0), theta)
				}
				sums[l][c] += s
			}
			counts[l] += plane
			return nil
		}
		n, F := h.Shape[0], h.Shape[1] // linear: [N, F]
		if sums[l] == nil {
			sums[l] = make([]float64, F)
		}
		for i := range n {
			for f, v := range h.Data[i*F : (i+1)*F] {
				sums[l][f] += math.Min(math.Max(float64(v), 0), theta)
			}
		}
		counts[l] += n
		return nil
	})
	if err != nil {
		return nil, err
	}
	for l := range sums {
		for c := range sums[l] {
			sums[l][c] /= float64(counts[l]) * clips[l]
		}
	}
	return sums, nil
}

// hiddenLayers is the number of m's hidden weighted layers: every conv and
// every linear layer but the output one.
func hiddenLayers(m *vgg.Model) int { return len(m.Convs) + len(m.Linears) - 1 }

// eachHiddenOutput runs the ANN (inference mode) on x in batches of at
// most batch images and calls f with the output of every hidden weighted
// layer before its activation: l counts those layers from 0, h is CNHW for
// a conv and [n, F] for a linear layer, n is the batch's image count. It
// stops at the first error of f or of ctx.
func eachHiddenOutput(ctx context.Context, m *vgg.Model, x *tensor.Tensor, batch int, f func(l int, h *tensor.Tensor, n int) error) error {
	hidden := hiddenLayers(m)
	N := x.Shape[0]
	per := x.Len() / N
	for b0 := 0; b0 < N; b0 += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		b1 := min(N, b0+batch)
		h := tensor.FromData(x.Data[b0*per:b1*per], append([]int{b1 - b0}, x.Shape[1:]...)...)
		l := 0
		for _, layer := range m.Net.Layers {
			if l == hidden {
				break
			}
			h = layer.Forward(h, nn.Mode{})
			switch layer.(type) {
			case *nn.Conv2D, *nn.Linear:
				if err := f(l, h, b1-b0); err != nil {
					return err
				}
				l++
			}
		}
	}
	return nil
}

// spikeMeans simulates base's model with configuration cfg on x and
// returns spiking layer l's spikes per neuron and step, per output
// channel.
func spikeMeans(ctx context.Context, base *snn.Network, cfg snn.Config, x *tensor.Tensor, l int, rng *rand.Rand) ([]float64, error) {
	net, err := base.WithConfig(cfg)
	if err != nil {
		return nil, err
	}
	C := len(cfg.ChannelInit[l])
	counts := make([]int64, C)
	var n int64
	var mu sync.Mutex
	spikes := func(layer int, v []float32, steps, per int) {
		if layer != l {
			return
		}
		local := make([]int64, C)
		for i, s := range v { // [steps, B, H, W, C]; signed neurons' −1 counts against
			local[i%C] += int64(s)
		}
		mu.Lock()
		defer mu.Unlock()
		for c, k := range local {
			counts[c] += k
		}
		n += int64(len(v))
	}
	if _, err := net.Run(ctx, x, rng, snn.Options{Spikes: spikes}); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("convert: no spikes observed of layer %d", l)
	}
	out := make([]float64, C)
	for c, k := range counts {
		out[c] = float64(k) / float64(n/int64(C))
	}
	return out, nil
}
