package attack

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

func TestCoarseGridUpsample(t *testing.T) {
	for _, s := range [][4]int{{1, 8, 8, 4}, {2, 7, 5, 3}, {3, 4, 6, 1}, {1, 5, 5, 8}} {
		g := newCoarseGrid(s[0], s[1], s[2], s[3])
		if g.hc != (s[1]+s[3]-1)/s[3] || g.wc != (s[2]+s[3]-1)/s[3] || g.fine() != s[0]*s[1]*s[2] {
			t.Fatalf("%v: grid %+v", s, g)
		}
		const n = 2
		v := randFloats(n*g.coarse(), uint64(s[1]))
		x := make([]float32, n*g.fine())
		g.upsample(x, v, n)
		for p := range n * g.c {
			for y := range g.h {
				for xx := range g.w {
					if got, want := x[(p*g.h+y)*g.w+xx], v[(p*g.hc+y/g.d)*g.wc+xx/g.d]; got != want {
						t.Fatalf("%v: plane %d pixel (%d, %d) = %g, want coarse (%d, %d) = %g", s, p, y, xx, got, y/g.d, xx/g.d, want)
					}
				}
			}
		}
	}
}

// noiseLoss is an objective that ignores the images: each row's value is
// the first draw of a stream keyed by its seed, as the simulation keys an
// image's Poisson spikes. Rows with the same seed agree; seeds that differ
// in any bit give unrelated values.
func noiseLoss(_ context.Context, x *tensor.Tensor, rowTargets []int, rng *rand.Rand) ([]float64, error) {
	l := make([]float64, x.Shape[0])
	for j := range l {
		l[j] = rand.New(rand.NewPCG(rng.Uint64(), 1)).Float64()
	}
	return l, nil
}

// The two members of a pair see the same random stream, so an objective
// that is pure noise gives exactly zero, though its values differ between
// pairs; also when the rows are split over several objective calls.
func TestNESCommonRandomNumbers(t *testing.T) {
	g := newCoarseGrid(1, 8, 8, 2)
	var seen []float64
	loss := func(ctx context.Context, x *tensor.Tensor, rt []int, rng *rand.Rand) ([]float64, error) {
		l, err := noiseLoss(ctx, x, rt, rng)
		seen = append(seen, l...)
		return l, err
	}
	for _, rows := range []int{0, 4, 6} {
		seen = seen[:0]
		e := &nesEstimator{grid: g, targets: []int{0, 2, 1}, samples: 5, sigma: 0.3, lo: -1, hi: 1, loss: loss, maxRows: rows}
		v := randFloats(3*g.coarse(), 8)
		grad, err := e.estimate(context.Background(), v, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}
		if nz := nonZero(grad); nz != 0 {
			t.Errorf("max rows %d: %d of %d estimates non-zero for a pure-noise objective", rows, nz, len(grad))
		}
		if len(seen) != 30 || slices.Min(seen) == slices.Max(seen) {
			t.Fatalf("max rows %d: objective values %v: the noise is not exercised", rows, seen)
		}
	}
}

// quadLoss is Σ_j a_j·(x_j − c_j)² over a row's values: a smooth
// deterministic objective whose gradient is known.
type quadLoss struct{ a, c []float64 }

func (q quadLoss) loss(_ context.Context, x *tensor.Tensor, rt []int, _ *rand.Rand) ([]float64, error) {
	per := x.Len() / x.Shape[0]
	l := make([]float64, x.Shape[0])
	for r := range l {
		for j, v := range x.Data[r*per : (r+1)*per] {
			d := float64(v) - q.c[j]
			l[r] += q.a[j] * d * d
		}
	}
	return l, nil
}

// For a quadratic the antithetic difference is exactly linear in u, so
// the estimate is unbiased; with Downsample 1 and many pairs it is close
// to the gradient, and batching the rows does not change it.
func TestNESEstimateQuadratic(t *testing.T) {
	g := newCoarseGrid(1, 4, 4, 1)
	rng := rand.New(rand.NewPCG(5, 5))
	q := quadLoss{a: make([]float64, 16), c: make([]float64, 16)}
	for j := range q.a {
		q.a[j], q.c[j] = 0.5+rng.Float64(), rng.Float64()-0.5
	}
	v := randFloats(16, 6)
	for i := range v {
		v[i] *= 0.3
	}
	const P = 4000
	e := &nesEstimator{grid: g, targets: []int{0}, samples: P, sigma: 0.05, lo: -1, hi: 1, loss: q.loss}
	grad, err := e.estimate(context.Background(), v, rand.New(rand.NewPCG(6, 6)))
	if err != nil {
		t.Fatal(err)
	}
	exact := make([]float32, 16)
	for j := range exact {
		exact[j] = float32(2 * q.a[j] * (float64(v[j]) - q.c[j]))
	}
	// Each component is a mean of P terms u_j·Σ_k ∂_k·u_k with variance
	// |∇|² + ∂_j² ≈ 16·0.6² ≈ 6; its standard error √(6/4000) ≈ 0.04, so
	// 0.2 is five standard errors. The components are up to ~3.
	for j := range exact {
		if d := math.Abs(float64(grad[j] - exact[j])); d > 0.2 {
			t.Errorf("component %d: estimate %g, gradient %g", j, grad[j], exact[j])
		}
	}
	e.maxRows = 6
	again, err := e.estimate(context.Background(), v, rand.New(rand.NewPCG(6, 6)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again, grad) {
		t.Error("splitting the rows over objective calls changed the estimate")
	}
}

func cosine(a, b []float32) float64 {
	return dot64(a, b) / math.Sqrt(dot64(a, a)*dot64(b, b))
}

// coarseFD returns central differences (L(v + h·e_j) − L(v − h·e_j))/2h of
// the objective of image i along every coarse coordinate j.
func coarseFD(t *testing.T, loss nesLoss, g coarseGrid, v []float32, target int, h float64) []float32 {
	t.Helper()
	per := g.coarse()
	x := tensor.New(2*per, g.c, g.h, g.w)
	pert := make([]float32, per)
	rt := make([]int, 2*per)
	for j := range per {
		for s, sign := range []float64{1, -1} {
			copy(pert, v)
			pert[j] += float32(sign * h)
			g.upsample(x.Data[(2*j+s)*g.fine():(2*j+s+1)*g.fine()], pert, 1)
			rt[2*j+s] = target
		}
	}
	l, err := loss(context.Background(), x, rt, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	fd := make([]float32, per)
	for j := range fd {
		fd[j] = float32((l[2*j] - l[2*j+1]) / (2 * h))
	}
	return fd
}

func TestNESEstimateSNN(t *testing.T) {
	net := tinyNet(t, snn.Direct)
	g := newCoarseGrid(1, 8, 8, 4)
	targets := []int{0, 1, 2, 0, 1, 2}
	v := randFloats(len(targets)*g.coarse(), 17)
	for i := range v {
		v[i] *= 0.5
	}
	const sigma = 0.2
	loss := snnLoss(net)
	e := &nesEstimator{grid: g, targets: targets, samples: 1000, sigma: sigma, lo: -1, hi: 1, loss: loss}
	grad, err := e.estimate(context.Background(), v, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	// The objective is piecewise constant (spike counts), so both sides
	// are secant slopes over ±σ: the finite difference along each coarse
	// axis and NES's average over Gaussian directions. They need not
	// agree closely (measured cosines 0.50 to 0.92 over these six
	// images), but a wrong sign, image or coarse mapping makes the cosine
	// about 0 or negative.
	per := g.coarse()
	var sum float64
	for i, c := range targets {
		fd := coarseFD(t, loss, g, v[i*per:(i+1)*per], c, sigma)
		cos := cosine(grad[i*per:(i+1)*per], fd)
		if !(cos > 0) {
			t.Errorf("image %d: NES estimate %v, finite differences %v: cosine %.3f", i, grad[i*per:(i+1)*per], fd, cos)
		}
		sum += cos
	}
	if mean := sum / float64(len(targets)); mean < 0.5 {
		t.Errorf("mean cosine %.3f between NES estimates and finite differences", mean)
	}
}

func nesOptions() NESOptions {
	return NESOptions{Iterations: 4, Samples: 3, Sigma: 0.2, LR: 0.1, Downsample: 2, TV: 0.1}
}

// checkNESResult checks a RunNES result: the shapes, Images the normalised
// Pixels, Logits a fresh simulation's (a Direct network's, which draws
// nothing it uses), Loss their cross-entropy.
func checkNESResult(t *testing.T, net *snn.Network, targets []int, res *Result) {
	t.Helper()
	n := len(targets)
	if res.Method != NESAttack || res.Shape != [4]int{n, 1, 8, 8} || !slices.Equal(res.Targets, targets) ||
		len(res.Pixels) != n*64 || !tensor.SameShape(res.Logits.Shape, []int{n, 3}) || len(res.Loss) != n {
		t.Fatalf("result %v %v %v, %d pixels, logits %v", res.Method, res.Shape, res.Targets, len(res.Pixels), res.Logits.Shape)
	}
	x := make([]float32, n*64)
	normalize(x, res.Pixels, stdNorm)
	if !slices.Equal(res.Images.Data, x) {
		t.Error("Images are not the normalised Pixels")
	}
	for i, c := range targets {
		if want := crossEntropy(res.Logits.Data[i*3:(i+1)*3], c, 1.0/8); res.Loss[i] != want {
			t.Errorf("image %d: loss %g, cross-entropy %g", i, res.Loss[i], want)
		}
	}
	if net.Config.Encoder != snn.Direct {
		return
	}
	r, err := net.Run(context.Background(), res.Images, rand.New(rand.NewPCG(1, 1)), snn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Logits().Data, res.Logits.Data) {
		t.Error("logits are not the network's for the images")
	}
}

// blocky reports whether every image of res is constant on d×d blocks.
func blocky(res *Result, d int) bool {
	n, h, w := res.Shape[0], res.Shape[2], res.Shape[3]
	for p := range n {
		for y := range h {
			for x := range w {
				if res.Pixels[(p*h+y)*w+x] != res.Pixels[(p*h+y/d*d)*w+x/d*d] {
					return false
				}
			}
		}
	}
	return true
}

// On a Direct network the mean cross-entropy falls over the iterations.
func TestRunNESLowersLoss(t *testing.T) {
	net := tinyNet(t, snn.Direct)
	targets := []int{0, 1, 2, 0, 1, 2, 0, 1, 2}
	o := NESOptions{Samples: 8, Sigma: 0.2, LR: 0.1, Downsample: 2}
	meanLoss := func(iters int) float64 {
		o.Iterations = iters
		res, err := RunNES(context.Background(), net, stdNorm, targets, o, rand.New(rand.NewPCG(30, 31)), nil)
		if err != nil {
			t.Fatal(err)
		}
		checkNESResult(t, net, targets, res)
		if !blocky(res, 2) {
			t.Error("the images are not upsampled from 4×4")
		}
		var s float64
		for _, l := range res.Loss {
			s += l
		}
		return s / float64(len(targets))
	}
	l1, l20 := meanLoss(1), meanLoss(20)
	if !(l20 < l1-0.1) {
		t.Errorf("mean cross-entropy %g after 20 steps, %g after 1", l20, l1)
	}
}

func TestRunNESSeeds(t *testing.T) {
	net := tinyNet(t, snn.Poisson)
	targets := []int{2, 0, 1}
	run := func(s uint64) *Result {
		res, err := RunNES(context.Background(), net, stdNorm, targets, nesOptions(), rand.New(rand.NewPCG(s, 1)), nil)
		if err != nil {
			t.Fatal(err)
		}
		checkNESResult(t, net, targets, res)
		return res
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a.Pixels, b.Pixels) || !slices.Equal(a.Logits.Data, b.Logits.Data) || !slices.Equal(a.Loss, b.Loss) {
		t.Error("same seed, different results")
	}
	if slices.Equal(a.Pixels, c.Pixels) {
		t.Error("another seed gives the same images")
	}
}

func TestNESOptionsValidate(t *testing.T) {
	if err := DefaultNES().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	nan, inf := math.NaN(), math.Inf(1)
	for i, mod := range []func(*NESOptions){
		func(o *NESOptions) { o.Iterations = 0 }, func(o *NESOptions) { o.Iterations = MaxIterations + 1 },
		func(o *NESOptions) { o.Samples = 0 }, func(o *NESOptions) { o.Samples = MaxNESSamples + 1 },
		func(o *NESOptions) { o.Sigma = 0 }, func(o *NESOptions) { o.Sigma = -1 }, func(o *NESOptions) { o.Sigma = nan },
		func(o *NESOptions) { o.Sigma = inf }, func(o *NESOptions) { o.LR = 0 }, func(o *NESOptions) { o.LR = nan },
		func(o *NESOptions) { o.LR = inf }, func(o *NESOptions) { o.Downsample = 0 }, func(o *NESOptions) { o.Downsample = 65 },
		func(o *NESOptions) { o.TV = -1 }, func(o *NESOptions) { o.TV = nan }, func(o *NESOptions) { o.TV = inf },
	} {
		o := DefaultNES()
		mod(&o)
		if o.Validate() == nil {
			t.Errorf("case %d: %+v validates", i, o)
		}
		res, err := RunNES(context.Background(), tinyNet(t, snn.Direct), stdNorm, []int{0}, o, rand.New(rand.NewPCG(1, 1)), nil)
		if err == nil || res != nil {
			t.Errorf("case %d: RunNES returned %v, %v", i, res, err)
		}
	}
}

func TestRunNESErrors(t *testing.T) {
	ctx := context.Background()
	net := tinyNet(t, snn.Direct)
	o := nesOptions()
	if _, err := RunNES(ctx, net, imageset.Normalization{Mean: 0.5}, []int{0}, o, rand.New(rand.NewPCG(1, 1)), nil); err == nil {
		t.Error("zero std accepted")
	}
	if _, err := RunNES(ctx, net, stdNorm, []int{0, 3}, o, rand.New(rand.NewPCG(1, 1)), nil); err == nil {
		t.Error("target 3 of 3 classes accepted")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := RunNES(cancelled, net, stdNorm, []int{0}, o, rand.New(rand.NewPCG(1, 1)), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	rec := &progresstest.Recorder{T: t, StopAfter: 2}
	_, err := RunNES(ctx, net, stdNorm, []int{0}, o, rand.New(rand.NewPCG(1, 1)), rec.Func())
	rec.CheckStopped(err)
	var calls [][2]int
	if _, err := RunNES(ctx, net, stdNorm, []int{0, 1}, o, rand.New(rand.NewPCG(1, 1)), func(r progress.Report) error {
		if r.Label != "steps" {
			t.Errorf("label %q", r.Label)
		}
		calls = append(calls, [2]int{r.Done, r.Total})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{1, 4}, {2, 4}, {3, 4}, {4, 4}}; !slices.Equal(calls, want) {
		t.Errorf("progress %v, want %v", calls, want)
	}
}
