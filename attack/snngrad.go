package attack

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// SNNGradientOptions configures Attack 2.
type SNNGradientOptions struct {
	// Iterations is the number of updates N (default 150).
	Iterations int `json:"iterations"`
	// Step is ζ, the step on the normalised image (default 0.01).
	Step float64 `json:"step"`
	// Quantize rounds the image to 8-bit pixels after every update, as
	// Attack 1 does (default off: the paper's Algorithm 3 keeps x real).
	Quantize bool `json:"quantize,omitempty"`
	// Surrogate is the spike derivative used for the gradient (default
	// snn.DefaultSurrogate).
	Surrogate snn.Surrogate `json:"surrogate"`
}

// DefaultSNNGradient returns N = 150, ζ = 0.01, the default surrogate.
func DefaultSNNGradient() SNNGradientOptions {
	return SNNGradientOptions{Iterations: 150, Step: 0.01, Surrogate: snn.DefaultSurrogate()}
}

// Validate reports unusable options.
func (o SNNGradientOptions) Validate() error {
	switch {
	case o.Iterations < 1 || o.Iterations > MaxIterations:
		return fmt.Errorf("attack: %d iterations outside [1, %d]", o.Iterations, MaxIterations)
	case !(o.Step > 0) || math.IsInf(o.Step, 0):
		return fmt.Errorf("attack: step %g must be positive and finite", o.Step)
	}
	return o.Surrogate.CheckGiven()
}

// ConvGradient runs the SNN once on x (eval mode: its own encoder,
// thresholds and T, no dropout) and returns, for y_c = S[c] the target
// class's accumulated output, G = (1/T)·Σ_t ∂y_c/∂I_1[t] [N, C1, H1, W1],
// the gradient at conv1's output current averaged over time, and
// δx = conv1ᵀ(G) [N, C, H, W], its transposed convolution with conv1's
// weights (stride 1, conv1's padding): Algorithm 3's "deconvolution". For
// Poisson input δx is the straight-through estimate (1/T)·Σ_t ∂y_c/∂s[t],
// for direct input (1/T)·∂y_c/∂x. It also returns the logits S.
func ConvGradient(ctx context.Context, net *snn.Network, x *tensor.Tensor, targets []int, sg snn.Surrogate, rng *rand.Rand) (G, dx, logits *tensor.Tensor, err error) {
	k := net.Model.Config.Classes
	if err := checkTargets(targets, k); err != nil {
		return nil, nil, nil, err
	}
	if len(x.Shape) != 4 || x.Shape[0] != len(targets) {
		return nil, nil, nil, fmt.Errorf("attack: images %v for %d targets", x.Shape, len(targets))
	}
	tp, err := net.Forward(ctx, x, rng, snn.TrainOptions{Surrogate: sg, InputGradient: true, CurrentGradient: true, Frozen: true})
	if err != nil {
		return nil, nil, nil, err
	}
	dS := tensor.New(len(targets), k)
	for i, c := range targets {
		dS.Data[i*k+c] = 1
	}
	dx, err = tp.Backward(ctx, dS)
	if err != nil {
		return nil, nil, nil, err
	}
	G = tp.CurrentGradient()
	inv := 1 / float32(net.Config.Timesteps)
	for i := range G.Data {
		G.Data[i] *= inv
	}
	for i := range dx.Data {
		dx.Data[i] *= inv
	}
	return G, dx, tp.Logits(), nil
}

// RunSNNGradient runs Attack 2 against the spiking network net: per image
// with target c, starting from uniform random pixels,
//
//	repeat N times:
//	    G  ← (1/T)·Σ_t ∂S_c/∂I_1[t]      (surrogate BPTT, one simulation)
//	    δx ← conv1ᵀ(G)
//	    x  ← clip(x + ζ·δx, x(0), x(255))
//
// where x(0) and x(255) are the normalised values of black and white
// pixels (−1 and 1 for the usual normalisation), which keeps Poisson
// probabilities valid. Every simulation draws fresh input spikes from rng.
// The final images are quantised to 8 bits.
func RunSNNGradient(ctx context.Context, net *snn.Network, norm imageset.Normalization, targets []int, o SNNGradientOptions, rng *rand.Rand, pr progress.Func) (*Result, error) {
	cfg := net.Model.Config
	res, err := start(SNNGradient, o.Validate(), norm, cfg, targets)
	if err != nil {
		return nil, err
	}
	n := len(targets)
	c, h, w := cfg.InChannels, cfg.InHeight, cfg.InWidth
	randomPixels(res.Pixels, rng)
	x := tensor.New(n, c, h, w)
	normalize(x.Data, res.Pixels, norm)
	lo, hi := pixelRange(norm)
	step := float32(o.Step)
	for it := range o.Iterations {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, dx, _, err := ConvGradient(ctx, net, x, targets, o.Surrogate, rng)
		if err != nil {
			return nil, fmt.Errorf("attack 2, step %d: %w", it+1, err)
		}
		if err := finite(dx.Data); err != nil {
			return nil, fmt.Errorf("attack 2, step %d: gradient: %w", it+1, err)
		}
		for i, v := range x.Data {
			x.Data[i] = max(lo, min(hi, v+step*dx.Data[i]))
		}
		if o.Quantize {
			quantize(res.Pixels, x.Data, norm)
			normalize(x.Data, res.Pixels, norm)
		}
		if err := pr.Report(progress.Report{Label: "steps", Done: it + 1, Total: o.Iterations}); err != nil {
			return nil, fmt.Errorf("attack 2: %w", err)
		}
	}
	if err := finishSNN(ctx, net, norm, x, res, rng); err != nil {
		return nil, err
	}
	return res, nil
}

// finishSNN quantises x into res.Pixels and records the SNN's logits for
// the quantised images (a fresh simulation) and the loss −S_c/T.
func finishSNN(ctx context.Context, net *snn.Network, norm imageset.Normalization, x *tensor.Tensor, res *Result, rng *rand.Rand) error {
	quantize(res.Pixels, x.Data, norm)
	normalize(res.Images.Data, res.Pixels, norm)
	r, err := net.Run(ctx, res.Images, rng, snn.Options{})
	if err != nil {
		return err
	}
	res.Logits = r.Logits()
	k, T := res.Logits.Shape[1], float64(net.Config.Timesteps)
	for i, t := range res.Targets {
		res.Loss[i] = -float64(res.Logits.Data[i*k+t]) / T
	}
	return nil
}
