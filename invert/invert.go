package invert

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/optim"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/tensor"
)

// Network is a differentiable image classifier: Forward maps an NCHW batch to
// logits [N, K] and Backward maps dL/dlogits back to dL/dinput for the last
// Forward. *vgg.Model implements it.
type Network interface {
	Forward(x *tensor.Tensor, m nn.Mode) *tensor.Tensor
	Backward(dlogits *tensor.Tensor, g nn.Grad) *tensor.Tensor
}

// Limits on Options, far beyond any sensible use; they keep a typo from
// starting a run that never ends.
const (
	MaxIterations = 1_000_000
	MaxBatch      = 1 << 16
)

// Options configures an optimisation.
type Options struct {
	// Iterations is the number of Adam steps per image (the reference
	// generator runs 2,499 for CIFAR and 1,499 for MNIST).
	Iterations int `json:"iterations"`
	// LR is Adam's learning rate (reference 1e-3); β = (0.9, 0.999),
	// ε = 1e-8, no weight decay.
	LR float64 `json:"lr"`
	// Temperature τ divides the logits inside the softmax (reference 20).
	Temperature float64 `json:"temperature"`
	// Clip, when set, projects every pixel onto [ClipLo, ClipHi] after each
	// step (projected Adam), so that images stay in the range they will be
	// saved in. The reference does not clip while optimising.
	Clip   bool    `json:"clip,omitempty"`
	ClipLo float64 `json:"clip_lo,omitempty"`
	ClipHi float64 `json:"clip_hi,omitempty"`
	// Bounded optimises w with x = tanh(w) instead of x itself, so every
	// pixel stays inside (−1, 1), the range images are saved in, without
	// the information loss of clipping afterwards (which undoes part of an
	// unconstrained optimisation). The gradient is dL/dw = dL/dx·(1 − x²).
	// Not in the reference, which optimises x unconstrained.
	Bounded bool `json:"bounded,omitempty"`
	// Batch is how many images are optimised together. It changes speed,
	// not results (see the package documentation).
	Batch int `json:"batch"`
}

// Validate reports unusable options.
func (o Options) Validate() error {
	switch {
	case o.Iterations < 1 || o.Iterations > MaxIterations:
		return fmt.Errorf("invert: %d iterations outside [1, %d]", o.Iterations, MaxIterations)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("invert: learning rate %g must be positive and finite", o.LR)
	case !(o.Temperature > 0) || math.IsInf(o.Temperature, 0):
		return fmt.Errorf("invert: temperature %g must be positive and finite", o.Temperature)
	case o.Clip && (!(o.ClipLo < o.ClipHi) || math.IsInf(o.ClipLo, 0) || math.IsInf(o.ClipHi, 0)):
		return fmt.Errorf("invert: clip range [%g, %g] is empty", o.ClipLo, o.ClipHi)
	case o.Batch < 1 || o.Batch > MaxBatch:
		return fmt.Errorf("invert: batch %d outside [1, %d]", o.Batch, MaxBatch)
	}
	return nil
}

// boundLimit keeps atanh finite when a Bounded run starts from ±1 pixels.
const boundLimit = 0.999

// Result is what Run returns.
type Result struct {
	// Images are the optimised images, [N, C, H, W], unclipped (inside
	// (−1, 1) when Bounded).
	Images *tensor.Tensor
	// Logits are the network's outputs for Images, [N, K].
	Logits *tensor.Tensor
	// InitialLoss and FinalLoss are each image's loss before the first
	// step and after the last one.
	InitialLoss, FinalLoss []float64
}

// Run optimises images towards targets against net; see the package
// documentation. images [N, C, H, W] and targets [N, K] are not modified;
// every target row must be non-negative and finite. pr may be nil;
// it is called after every optimisation step with Label "steps", counting
// one step per batch and iteration (Total = ⌈N/Batch⌉ · Iterations), and
// a non-nil error from it stops the run (a *progress.StopError).
func Run(ctx context.Context, net Network, images, targets *tensor.Tensor, o Options, pr progress.Func) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := checkInputs(images, targets); err != nil {
		return nil, err
	}
	n, k := images.Shape[0], targets.Shape[1]
	per := images.Len() / n
	res := &Result{
		Images:      tensor.New(images.Shape...),
		Logits:      tensor.New(n, k),
		InitialLoss: make([]float64, n),
		FinalLoss:   make([]float64, n),
	}
	batches := (n + o.Batch - 1) / o.Batch
	total, done := batches*o.Iterations, 0
	stepped := func() error {
		done++
		if err := pr.Report(progress.Report{Label: "steps", Done: done, Total: total}); err != nil {
			return fmt.Errorf("invert: %w", err)
		}
		return nil
	}
	for b0 := 0; b0 < n; b0 += o.Batch {
		b1 := min(n, b0+o.Batch)
		shape := append([]int{b1 - b0}, images.Shape[1:]...)
		x := tensor.FromData(res.Images.Data[b0*per:b1*per], shape...)
		copy(x.Data, images.Data[b0*per:b1*per])
		t := tensor.FromData(targets.Data[b0*k:b1*k], b1-b0, k)
		if err := optimise(ctx, net, x, t, o, res.InitialLoss[b0:b1], stepped); err != nil {
			return nil, err
		}
		z := net.Forward(x, nn.Mode{})
		if err := checkLogits(z, b1-b0, k); err != nil {
			return nil, err
		}
		copy(res.Logits.Data[b0*k:b1*k], z.Data)
		perImageLoss(res.FinalLoss[b0:b1], z, t, o.Temperature)
	}
	return res, nil
}

// optimise runs o.Iterations Adam steps (one Adam per batch) on the batch
// x towards targets t, in place, writing each image's loss before the
// first step into initialLoss and calling stepped after every step; an
// error from stepped stops it and is returned. When Bounded, x is first
// clamped to ±boundLimit and the steps move w = atanh(x), with x =
// tanh(w) after each.
func optimise(ctx context.Context, net Network, x, t *tensor.Tensor, o Options, initialLoss []float64, stepped func() error) error {
	adam := optim.NewAdam(o.LR, 0, false)
	var w []float32 // the optimised variable when Bounded: x = tanh(w)
	if o.Bounded {
		w = make([]float32, len(x.Data))
		for i, v := range x.Data {
			v = max(-boundLimit, min(boundLimit, v))
			w[i] = float32(math.Atanh(float64(v)))
			x.Data[i] = float32(math.Tanh(float64(w[i])))
		}
	}
	for it := range o.Iterations {
		if err := ctx.Err(); err != nil {
			return err
		}
		lossBefore := initialLoss
		if it != 0 {
			lossBefore = nil
		}
		dx, err := inputGradient(net, x, t, o.Temperature, lossBefore)
		if err != nil {
			return err
		}
		update(adam, x.Data, w, dx, o)
		if err := stepped(); err != nil {
			return err
		}
	}
	return nil
}

// inputGradient returns the gradient with respect to x of the summed soft
// cross-entropy of the batch x towards targets t at temperature tau, after
// checking the network's logits and the gradient. When losses is not nil
// it also writes each image's loss there.
func inputGradient(net Network, x, t *tensor.Tensor, tau float64, losses []float64) ([]float32, error) {
	n, k := t.Shape[0], t.Shape[1]
	z := net.Forward(x, nn.Mode{})
	if err := checkLogits(z, n, k); err != nil {
		return nil, err
	}
	if losses != nil {
		perImageLoss(losses, z, t, tau)
	}
	_, g := loss.SoftCrossEntropy(z, t, tau)
	// SoftCrossEntropy differentiates the batch MEAN; the objective
	// is the sum, so that each image sees its batch-1 gradient.
	scale := float32(n)
	for i := range g.Data {
		g.Data[i] *= scale
	}
	dx := net.Backward(g, nn.Grad{Input: true})
	if dx == nil || dx.Len() != x.Len() {
		return nil, fmt.Errorf("invert: network returned no input gradient of %d values", x.Len())
	}
	if err := checkFinite(dx.Data, "input gradient"); err != nil {
		return nil, err
	}
	return dx.Data, nil
}

// update takes one Adam step on the pixels x from their gradient g (g is
// overwritten when Bounded): on x itself, or on w with g·(1 − x²) and then
// x = tanh(w) when Bounded. With Clip it then clamps x to [ClipLo, ClipHi].
func update(adam *optim.Adam, x, w, g []float32, o Options) {
	if o.Bounded {
		for i, v := range x {
			g[i] *= 1 - v*v
		}
		adam.StepSlice("images", w, g)
		for i, v := range w {
			x[i] = float32(math.Tanh(float64(v)))
		}
	} else {
		adam.StepSlice("images", x, g)
	}
	if o.Clip {
		lo, hi := float32(o.ClipLo), float32(o.ClipHi)
		for i, v := range x {
			x[i] = max(lo, min(hi, v))
		}
	}
}

// Loss returns each image's soft cross-entropy −Σ_k t_k log softmax(z/τ)_k
// for logits z [N, K] and targets t [N, K].
func Loss(z, t *tensor.Tensor, tau float64) ([]float64, error) {
	if len(z.Shape) != 2 || !tensor.SameShape(z.Shape, t.Shape) || z.Shape[0] == 0 || z.Shape[1] == 0 {
		return nil, fmt.Errorf("invert: logits %v and targets %v differ or are empty", z.Shape, t.Shape)
	}
	if !(tau > 0) || math.IsInf(tau, 0) {
		return nil, fmt.Errorf("invert: temperature %g must be positive and finite", tau)
	}
	out := make([]float64, z.Shape[0])
	perImageLoss(out, z, t, tau)
	return out, nil
}

func perImageLoss(dst []float64, z, t *tensor.Tensor, tau float64) {
	k := z.Shape[1]
	for i := range dst {
		l, _ := loss.SoftCrossEntropy(tensor.FromData(z.Data[i*k:(i+1)*k], 1, k), tensor.FromData(t.Data[i*k:(i+1)*k], 1, k), tau)
		dst[i] = l
	}
}

func checkInputs(images, targets *tensor.Tensor) error {
	if images == nil || targets == nil {
		return fmt.Errorf("invert: nil images or targets")
	}
	if len(images.Shape) != 4 || !positive(images.Shape) || images.Len() != tensor.Numel(images.Shape) {
		return fmt.Errorf("invert: images %v, want a non-empty [N, C, H, W]", images.Shape)
	}
	if len(targets.Shape) != 2 || !positive(targets.Shape) || targets.Shape[0] != images.Shape[0] || targets.Len() != tensor.Numel(targets.Shape) {
		return fmt.Errorf("invert: targets %v for %d images, want [%d, K]", targets.Shape, images.Shape[0], images.Shape[0])
	}
	for i, v := range images.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("invert: image value %d is %g", i, v)
		}
	}
	for i, v := range targets.Data {
		if !(v >= 0) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("invert: target value %d (image %d) is %g, want non-negative and finite", i, i/targets.Shape[1], v)
		}
	}
	return nil
}

// positive reports whether every dimension is at least 1 (so that
// tensor.Numel cannot panic).
func positive(shape []int) bool {
	for _, d := range shape {
		if d < 1 || d > math.MaxInt32 {
			return false
		}
	}
	return true
}

func checkLogits(z *tensor.Tensor, n, k int) error {
	if z == nil || len(z.Shape) != 2 || z.Shape[0] != n || z.Shape[1] != k {
		var s []int
		if z != nil {
			s = z.Shape
		}
		return fmt.Errorf("invert: network output %v, want [%d, %d] (as many classes as the targets)", s, n, k)
	}
	return checkFinite(z.Data, "network output")
}

// ErrNonFinite reports a NaN or infinite value in the optimisation (a
// diverged run); Run returns it instead of saving undefined pixels.
var ErrNonFinite = errors.New("invert: non-finite value")

func checkFinite(v []float32, what string) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: %s value %d is %g (lower the learning rate or check the model's weights)", ErrNonFinite, what, i, x)
		}
	}
	return nil
}
