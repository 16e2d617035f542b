package attack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// ErrNonFinite reports a NaN or infinite logit, gradient or pixel.
var ErrNonFinite = errors.New("attack: non-finite value")

// VisualizeOptions configures Attack 1's class visualisation.
type VisualizeOptions struct {
	// Iterations is N: the image is updated N−1 times (default 150).
	Iterations int `json:"iterations"`
	// LR is η, the plain-SGD step on the normalised image (default 6).
	LR float64 `json:"lr"`
	// WeightDecay is the SGD weight decay on the image (default 1e-4).
	WeightDecay float64 `json:"weight_decay"`
	// BlurEvery blurs the 8-bit image before update i when i is a
	// multiple of it (default 4; 0: never).
	BlurEvery int `json:"blur_every"`
	// Batch is how many images go through the network together (default
	// all of them). It changes speed; with the pure-Go GEMM it changes no
	// result, with a BLAS whose kernels depend on the matrix size the
	// logits can differ in the last bits (and a pixel can then round the
	// other way).
	Batch int `json:"batch,omitempty"`
}

// DefaultVisualize returns the paper's settings: N = 150, η = 6, weight
// decay 1e-4, blur every 4th step.
func DefaultVisualize() VisualizeOptions {
	return VisualizeOptions{Iterations: 150, LR: 6, WeightDecay: 1e-4, BlurEvery: 4}
}

// Validate reports unusable options.
func (o VisualizeOptions) Validate() error {
	switch {
	case o.Iterations < 1 || o.Iterations > MaxIterations:
		return fmt.Errorf("attack: %d iterations outside [1, %d]", o.Iterations, MaxIterations)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("attack: learning rate %g must be positive and finite", o.LR)
	case !(o.WeightDecay >= 0) || math.IsInf(o.WeightDecay, 0):
		return fmt.Errorf("attack: weight decay %g must be non-negative and finite", o.WeightDecay)
	case o.BlurEvery < 0 || o.BlurEvery > MaxIterations:
		return fmt.Errorf("attack: blur every %d steps outside [0, %d]", o.BlurEvery, MaxIterations)
	case o.Batch < 0 || o.Batch > MaxImages:
		return fmt.Errorf("attack: batch %d outside [0, %d]", o.Batch, MaxImages)
	}
	return nil
}

// Reconvert rebuilds an ANN from a spiking network's weights: the same
// architecture, the weights copied unchanged, ReLU for the spiking
// neurons, thresholds discarded. It is the first half of Attack 1. The
// returned model shares nothing with net.
func Reconvert(net *snn.Network) (*vgg.Model, error) {
	src := net.Model
	m, err := vgg.New(src.Config, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, fmt.Errorf("attack: re-convert: %w", err)
	}
	dst, from := m.Params(), src.Params()
	if len(dst) != len(from) {
		return nil, fmt.Errorf("attack: re-convert: %d weight tensors, the SNN has %d", len(dst), len(from))
	}
	for i, p := range dst {
		if !tensor.SameShape(p.W.Shape, from[i].W.Shape) {
			return nil, fmt.Errorf("attack: re-convert: %s is %v, the SNN's %v", p.Name, p.W.Shape, from[i].W.Shape)
		}
		copy(p.W.Data, from[i].W.Data)
	}
	return m, nil
}

// Classify returns the ANN's logits for normalised images, in eval mode,
// batch images at a time (0: all).
func Classify(m *vgg.Model, x *tensor.Tensor, batch int) *tensor.Tensor {
	n, k := x.Shape[0], m.Config.Classes
	if batch <= 0 {
		batch = n
	}
	per := x.Len() / n
	out := tensor.New(n, k)
	for b0 := 0; b0 < n; b0 += batch {
		b1 := min(n, b0+batch)
		shape := append([]int{b1 - b0}, x.Shape[1:]...)
		z := m.Forward(tensor.FromData(x.Data[b0*per:b1*per], shape...), nn.Mode{})
		copy(out.Data[b0*k:b1*k], z.Data)
	}
	return out
}

// RunVisualize runs Attack 1's class visualisation against the ANN m (for
// an SNN, the one Reconvert returns): one image per entry of targets, all
// optimised together. The algorithm, per image with target c:
//
//	img ← uniform random 8-bit pixels
//	for i = 1 … N−1:
//	    if BlurEvery > 0 and i % BlurEvery == 0: img ← GaussianBlur(img)
//	    x ← normalise(img)
//	    x ← x − η·(−∂y_c/∂x + λ·x)      (plain SGD, no momentum)
//	    img ← round-half-even(clip(x·std + mean, 0, 1)·255)
//
// where y = m(x) are the logits in eval mode. The image is 8-bit between
// steps, as in the reference visualiser, so an update smaller than half a
// grey level is lost. rng draws the initial images.
func RunVisualize(ctx context.Context, m *vgg.Model, norm imageset.Normalization, targets []int, o VisualizeOptions, rng *rand.Rand, pr progress.Func) (*Result, error) {
	cfg := m.Config
	res, err := start(Visualize, o.Validate(), norm, cfg, targets)
	if err != nil {
		return nil, err
	}
	n, k := len(targets), cfg.Classes
	c, h, w := cfg.InChannels, cfg.InHeight, cfg.InWidth
	per := c * h * w
	batch := o.Batch
	if batch == 0 {
		batch = n
	}
	randomPixels(res.Pixels, rng)
	steps := o.Iterations - 1
	batches := (n + batch - 1) / batch
	total, done := batches*steps, 0
	lr, wd := float32(o.LR), float32(o.WeightDecay)
	for b0 := 0; b0 < n; b0 += batch {
		b1 := min(n, b0+batch)
		img := res.Pixels[b0*per : b1*per]
		x := tensor.FromData(res.Images.Data[b0*per:b1*per], b1-b0, c, h, w)
		dz := tensor.New(b1-b0, k)
		for i := 1; i <= steps; i++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if o.BlurEvery > 0 && i%o.BlurEvery == 0 {
				GaussianBlur(img, (b1-b0)*c, h, w)
			}
			normalize(x.Data, img, norm)
			z := m.Forward(x, nn.Mode{})
			if err := finite(z.Data); err != nil {
				return nil, fmt.Errorf("attack 1, step %d: logits: %w", i, err)
			}
			dz.Zero()
			for j := range b1 - b0 {
				dz.Data[j*k+targets[b0+j]] = -1 // loss −y_c
			}
			dx := m.Backward(dz, nn.Grad{Input: true})
			if err := finite(dx.Data); err != nil {
				return nil, fmt.Errorf("attack 1, step %d: input gradient: %w", i, err)
			}
			for j, v := range x.Data {
				x.Data[j] = v - lr*(dx.Data[j]+wd*v)
			}
			quantize(img, x.Data, norm)
			done++
			if err := pr.Report(progress.Report{Label: "steps", Done: done, Total: total}); err != nil {
				return nil, fmt.Errorf("attack 1: %w", err)
			}
		}
	}
	normalize(res.Images.Data, res.Pixels, norm)
	res.Logits = Classify(m, res.Images, batch)
	for i, t := range res.Targets {
		res.Loss[i] = -float64(res.Logits.Data[i*k+t])
	}
	return res, nil
}
