package attack

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/optim"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// NESOptions configures Attack 5, natural evolution strategies on the
// SNN's output.
type NESOptions struct {
	// Iterations is the number of Adam updates.
	Iterations int `json:"iterations"`
	// Samples is the number of antithetic pairs x ± σ·u per update.
	Samples int `json:"samples"`
	// Sigma is σ, the search radius in normalised units.
	Sigma float64 `json:"sigma"`
	// LR is Adam's rate on the coarse image, in normalised units.
	LR float64 `json:"lr"`
	// Downsample is the factor between the image and the coarse image
	// optimised: ⌈H/Downsample⌉ × ⌈W/Downsample⌉ per channel, upsampled by
	// nearest neighbour before every evaluation (1: full resolution).
	Downsample int `json:"downsample"`
	// TV weighs the total-variation prior on the coarse image: the mean
	// squared difference of neighbouring coarse pixels.
	TV float64 `json:"tv"`
}

// DefaultNES returns Attack 5's defaults: 12 Adam updates at rate 0.3,
// each from 3 antithetic pairs at σ = 0.6, on a coarse image of a quarter
// of the resolution per axis (7 × 7 for 28 × 28), no TV prior: 72
// simulations per image. On a data-free converted T = 8 Fashion-MNIST
// network (Direct input) the SNN's own hit rate on 270 attack images was
// 0.66 against a chance of 0.10, in 140 s on two cores shared with other
// work. On 100 images σ = 0.25 at rate 0.1 gave 0.41, σ = 0.5 at 0.3
// 0.69, and downsampling by 7 (4 × 4 coarse pixels) 0.59.
func DefaultNES() NESOptions {
	return NESOptions{Iterations: 12, Samples: 3, Sigma: 0.6, LR: 0.3, Downsample: 4, TV: 0}
}

// MaxNESSamples bounds NESOptions.Samples.
const MaxNESSamples = 10_000

// Validate reports unusable options.
func (o NESOptions) Validate() error {
	switch {
	case o.Iterations < 1 || o.Iterations > MaxIterations:
		return fmt.Errorf("attack: %d iterations outside [1, %d]", o.Iterations, MaxIterations)
	case o.Samples < 1 || o.Samples > MaxNESSamples:
		return fmt.Errorf("attack: %d NES samples outside [1, %d]", o.Samples, MaxNESSamples)
	case !(o.Sigma > 0) || math.IsInf(o.Sigma, 0):
		return fmt.Errorf("attack: NES sigma %g must be positive and finite", o.Sigma)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("attack: learning rate %g must be positive and finite", o.LR)
	case o.Downsample < 1 || o.Downsample > 64:
		return fmt.Errorf("attack: downsample %d outside [1, 64]", o.Downsample)
	case !(o.TV >= 0) || math.IsInf(o.TV, 0):
		return fmt.Errorf("attack: TV weight %g must be non-negative and finite", o.TV)
	}
	return nil
}

// RunNES runs Attack 5 against net, using nothing but its output: per
// image with target t, the objective is L(x) = CE(softmax(S/T), t), S the
// summed output of net.Run (the model's own encoder, inference mode) on
// the image upsampled from a coarse image v. Starting from uniform random
// coarse pixels, each of o.Iterations steps estimates
//
//	g ≈ (1/(2σ·P))·Σ_p [L(v + σu_p) − L(v − σu_p)]·u_p,   u_p ~ N(0, I)
//
// over P = o.Samples antithetic pairs (perturbed images clipped to the
// pixel range), adds the TV prior's gradient and takes an Adam step on v,
// clipped to [x(0), x(255)]. The two members of a pair see the same
// Poisson spikes (common random numbers: one seed per pair drawn from
// rng), so the encoder's noise cancels in their difference. The final
// images are quantised to 8 bits and simulated afresh; Result.Loss is
// their cross-entropy. Progress is reported as "steps" after every update.
func RunNES(ctx context.Context, net *snn.Network, norm imageset.Normalization, targets []int, o NESOptions, rng *rand.Rand, pr progress.Func) (*Result, error) {
	cfg := net.Model.Config
	res, err := start(NESAttack, o.Validate(), norm, cfg, targets)
	if err != nil {
		return nil, err
	}
	n := len(targets)
	g := newCoarseGrid(cfg.InChannels, cfg.InHeight, cfg.InWidth, o.Downsample)
	pix := make([]uint8, n*g.coarse())
	randomPixels(pix, rng)
	v := make([]float32, len(pix))
	normalize(v, pix, norm)
	est := &nesEstimator{grid: g, targets: targets, samples: o.Samples, sigma: o.Sigma, loss: snnLoss(net)}
	est.lo, est.hi = pixelRange(norm)
	adam := optim.NewAdam(o.LR, 0, false)
	for it := range o.Iterations {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		grad, err := est.estimate(ctx, v, rng)
		if err != nil {
			return nil, fmt.Errorf("attack 5, step %d: %w", it+1, err)
		}
		priorGrad(grad, v, n, g.c, g.hc, g.wc, float32(o.TV), 0, 0)
		adam.StepSlice("coarse", v, grad)
		for i, u := range v {
			v[i] = max(est.lo, min(est.hi, u))
		}
		if err := pr.Report(progress.Report{Label: "steps", Done: it + 1, Total: o.Iterations}); err != nil {
			return nil, fmt.Errorf("attack 5: %w", err)
		}
	}
	x := tensor.New(n, g.c, g.h, g.w)
	g.upsample(x.Data, v, n)
	if err := finishSNN(ctx, net, norm, x, res, rng); err != nil {
		return nil, fmt.Errorf("attack 5: %w", err)
	}
	k, scale := res.Logits.Shape[1], 1/float64(net.Config.Timesteps)
	for i, t := range targets {
		res.Loss[i] = crossEntropy(res.Logits.Data[i*k:(i+1)*k], t, scale)
	}
	return res, nil
}

// coarseGrid maps coarse images of c × hc × wc to images of c × h × w by
// nearest-neighbour upsampling with factor d.
type coarseGrid struct {
	c, h, w, hc, wc, d int
}

// newCoarseGrid returns the grid of c × h × w images downsampled by d:
// ⌈h/d⌉ × ⌈w/d⌉ coarse pixels per channel.
func newCoarseGrid(c, h, w, d int) coarseGrid {
	return coarseGrid{c: c, h: h, w: w, hc: (h + d - 1) / d, wc: (w + d - 1) / d, d: d}
}

// coarse returns the values per coarse image.
func (g coarseGrid) coarse() int { return g.c * g.hc * g.wc }

// fine returns the values per full image.
func (g coarseGrid) fine() int { return g.c * g.h * g.w }

// upsample writes the n full images of the coarse images v into x: pixel
// (y, x) of a plane takes coarse pixel (y/d, x/d).
func (g coarseGrid) upsample(x, v []float32, n int) {
	for p := range n * g.c {
		src, dst := v[p*g.hc*g.wc:(p+1)*g.hc*g.wc], x[p*g.h*g.w:(p+1)*g.h*g.w]
		for y := range g.h {
			row := src[(y/g.d)*g.wc:]
			for xx := range g.w {
				dst[y*g.w+xx] = row[xx/g.d]
			}
		}
	}
}

// nesLoss returns the objective of every image (row) of x for the target
// rowTargets[j] of row j. A stochastic objective draws one seed per row
// from rng, in row order, and nothing else.
type nesLoss func(ctx context.Context, x *tensor.Tensor, rowTargets []int, rng *rand.Rand) ([]float64, error)

// snnLoss is Attack 5's objective: CE(softmax(S/T), t) for S the summed
// output of net.Run, which draws one seed per image from rng in image
// order.
func snnLoss(net *snn.Network) nesLoss {
	scale := 1 / float64(net.Config.Timesteps)
	return func(ctx context.Context, x *tensor.Tensor, rowTargets []int, rng *rand.Rand) ([]float64, error) {
		r, err := net.Run(ctx, x, rng, snn.Options{})
		if err != nil {
			return nil, err
		}
		S := r.Logits()
		if err := finite(S.Data); err != nil {
			return nil, fmt.Errorf("logits: %w", err)
		}
		k := S.Shape[1]
		l := make([]float64, len(rowTargets))
		for j, t := range rowTargets {
			l[j] = crossEntropy(S.Data[j*k:(j+1)*k], t, scale)
		}
		return l, nil
	}
}

// seedReplay is a rand.Source that returns a fixed list of values in
// order, cyclically: it hands an objective the per-row seeds that make
// the two members of an antithetic pair see the same random stream.
type seedReplay struct {
	seeds []uint64
	next  int
}

// Uint64 implements rand.Source.
func (s *seedReplay) Uint64() uint64 {
	v := s.seeds[s.next%len(s.seeds)]
	s.next++
	return v
}

// nesBatchBytes bounds the perturbed images one objective call receives.
const nesBatchBytes = 64 << 20

// nesEstimator estimates the gradient of an objective on coarse images
// from antithetic pairs of Gaussian perturbations.
type nesEstimator struct {
	grid    coarseGrid
	targets []int
	samples int
	sigma   float64
	lo, hi  float32 // the pixel range the perturbed images are clipped to
	loss    nesLoss
	// maxRows, when positive, caps the rows per objective call below
	// what nesBatchBytes allows (tests).
	maxRows int
}

// estimate returns (1/(2σP))·Σ_p [L(v + σu_p) − L(v − σu_p)]·u_p for every
// coarse image in v (n images of grid.coarse() values). It draws from rng
// all images' directions u (image-major), then one seed per image and
// pair, and evaluates rows (image i, pair p, sign) as 2·(i·P + p) + sign,
// as many per objective call as nesBatchBytes allows.
func (e *nesEstimator) estimate(ctx context.Context, v []float32, rng *rand.Rand) ([]float32, error) {
	per, P := e.grid.coarse(), e.samples
	n := len(v) / per
	u := make([]float32, n*P*per)
	for i := range u {
		u[i] = float32(rng.NormFloat64())
	}
	seeds := make([]uint64, n*P)
	for i := range seeds {
		seeds[i] = rng.Uint64()
	}
	rows := 2 * n * P
	batch := max(2, min(rows, nesBatchBytes/(4*e.grid.fine())/2*2))
	if e.maxRows > 0 {
		batch = max(2, min(batch, e.maxRows/2*2))
	}
	diff := make([]float64, n*P) // L(v + σu) − L(v − σu) per pair
	for r0 := 0; r0 < rows; r0 += batch {
		r1 := min(rows, r0+batch)
		l, err := e.evaluate(ctx, v, u, seeds, r0, r1)
		if err != nil {
			return nil, err
		}
		for r := r0; r < r1; r += 2 {
			diff[r/2] = l[r-r0] - l[r+1-r0]
		}
	}
	grad := make([]float32, len(v))
	for q, d := range diff {
		i := q / P
		f := float32(d / (2 * e.sigma * float64(P)))
		gi, uq := grad[i*per:(i+1)*per], u[q*per:(q+1)*per]
		for j := range gi {
			gi[j] += f * uq[j]
		}
	}
	return grad, nil
}

// evaluate returns the objective of rows r0 … r1−1 (r0 and r1 even): the
// clipped, upsampled perturbations of estimate's row order, each pair with
// its seed twice.
func (e *nesEstimator) evaluate(ctx context.Context, v, u []float32, seeds []uint64, r0, r1 int) ([]float64, error) {
	per, fine, P := e.grid.coarse(), e.grid.fine(), e.samples
	g := e.grid
	x := tensor.New(r1-r0, g.c, g.h, g.w)
	pert := make([]float32, per)
	rowTargets := make([]int, r1-r0)
	rowSeeds := make([]uint64, r1-r0)
	sigma := float32(e.sigma)
	for r := r0; r < r1; r++ {
		q, sign := r/2, float32(1-2*(r%2))
		i := q / P
		vi, uq := v[i*per:(i+1)*per], u[q*per:(q+1)*per]
		for j := range pert {
			pert[j] = max(e.lo, min(e.hi, vi[j]+sign*sigma*uq[j]))
		}
		g.upsample(x.Data[(r-r0)*fine:(r-r0+1)*fine], pert, 1)
		rowTargets[r-r0], rowSeeds[r-r0] = e.targets[i], seeds[q]
	}
	l, err := e.loss(ctx, x, rowTargets, rand.New(&seedReplay{seeds: rowSeeds}))
	if err != nil {
		return nil, err
	}
	if len(l) != r1-r0 {
		return nil, fmt.Errorf("attack: objective gave %d values for %d images", len(l), r1-r0)
	}
	return l, nil
}
