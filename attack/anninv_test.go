package attack

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// annCE64 is Σ_i CE(softmax(z_i), t_i) in float64 for the tiny model's
// float32 logits of x.
func annCE64(m *vgg.Model, x *tensor.Tensor, targets []int) float64 {
	z := Classify(m, x, 0)
	k := z.Shape[1]
	var s float64
	for i, t := range targets {
		row := make([]float64, k)
		for j := range row {
			row[j] = float64(z.Data[i*k+j])
		}
		s += ce64(row, t)
	}
	return s
}

// The gradient the Adam loop receives for the ANN is that of the summed
// cross-entropy: checked by central differences along random directions.
func TestANNObjectiveGradient(t *testing.T) {
	m := tinyModel(t)
	targets := []int{0, 1, 2, 2}
	x := randImages(len(targets), 11)
	g, err := annObjective(m, targets)(context.Background(), x, nil)
	if err != nil {
		t.Fatal(err)
	}
	g = g.Clone()
	rng := rand.New(rand.NewPCG(12, 12))
	for d := range 8 {
		dir := make([]float32, len(x.Data))
		for i := range dir {
			dir[i] = float32(rng.NormFloat64())
		}
		// The logits are piecewise linear (ReLU, average pools): a step of
		// 1e-3 along a unit-variance direction switched some ReLUs and was
		// off by up to 5e-2, so the step is 3e-4. The float32 logits round
		// by ~1e-7 relative, ~1e-6 on the summed loss of 4 images, which is
		// ≤ 1.7e-3 of the difference quotient (measured: ≤ 4e-4). The
		// directional derivatives are 0.2 to 2, so a wrong gradient (a
		// sign, a missing softmax term) is off by far more than 3e-3.
		const h, tol = 3e-4, 3e-3
		xp, xm := x.Clone(), x.Clone()
		for i, v := range dir {
			xp.Data[i] += h * v
			xm.Data[i] -= h * v
		}
		fd := (annCE64(m, xp, targets) - annCE64(m, xm, targets)) / (2 * h)
		an := dot64(g.Data, dir)
		if math.Abs(fd-an) > tol+1e-3*math.Abs(fd) {
			t.Errorf("direction %d: ⟨∇L, u⟩ = %g, finite difference %g", d, an, fd)
		}
		if math.Abs(an) < 10*tol {
			t.Errorf("direction %d: directional derivative %g is too small for the check to mean something", d, an)
		}
	}
	if z := m.Forward(x, nn.Mode{}); !slices.Equal(z.Data, Classify(m, x, 0).Data) {
		t.Error("the objective left the model in another mode")
	}
}

func annOptions() InversionOptions {
	o := invOptions()
	o.Surrogate = snn.Surrogate{} // not used on an ANN
	return o
}

func runANN(t *testing.T, m *vgg.Model, targets []int, o InversionOptions, rng *rand.Rand) *Result {
	t.Helper()
	res, err := RunANNInversion(context.Background(), m, stdNorm, targets, o, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkANNResult checks that Images are the normalised Pixels, Logits the
// ANN's for them, and Loss their cross-entropy.
func checkANNResult(t *testing.T, m *vgg.Model, targets []int, res *Result) {
	t.Helper()
	n := len(targets)
	if res.Method != ANNInversion || res.Shape != [4]int{n, 1, 8, 8} || !slices.Equal(res.Targets, targets) ||
		len(res.Pixels) != n*64 || !tensor.SameShape(res.Logits.Shape, []int{n, 3}) || len(res.Loss) != n {
		t.Fatalf("result %v %v %v, %d pixels, logits %v", res.Method, res.Shape, res.Targets, len(res.Pixels), res.Logits.Shape)
	}
	x := make([]float32, n*64)
	normalize(x, res.Pixels, stdNorm)
	if !slices.Equal(res.Images.Data, x) {
		t.Error("Images are not the normalised Pixels")
	}
	if z := Classify(m, res.Images, 0); !slices.Equal(z.Data, res.Logits.Data) {
		t.Errorf("logits %v, the ANN gives %v for the images", res.Logits.Data, z.Data)
	}
	for i, c := range targets {
		if want := crossEntropy(res.Logits.Data[i*3:(i+1)*3], c, 1); res.Loss[i] != want {
			t.Errorf("image %d: loss %g, cross-entropy %g", i, res.Loss[i], want)
		}
	}
}

// More Adam steps raise the target probability of the ANN's softmax.
func TestRunANNInversionRaisesTarget(t *testing.T) {
	m := tinyModel(t)
	targets := []int{0, 1, 2, 0, 1, 2}
	o := annOptions()
	o.Restarts, o.Jitter, o.Flip, o.BlurEvery, o.TV, o.L2 = 1, 0, false, 0, 0, 0
	meanP := func(iters int) float64 {
		o.Iterations = iters
		res := runANN(t, m, targets, o, rand.New(rand.NewPCG(90, 91)))
		checkANNResult(t, m, targets, res)
		var s float64
		for _, l := range res.Loss {
			s += math.Exp(-l)
		}
		return s / float64(len(targets))
	}
	p1, p5, p20 := meanP(1), meanP(5), meanP(20)
	if !(p5 > p1 && p20 > p5+0.05) {
		t.Errorf("mean target probability %.3f after 1 step, %.3f after 5, %.3f after 20", p1, p5, p20)
	}
}

// Like TestRunInversionKeepsBestRestart: Restarts = 1 twice on one
// generator are the two restarts of Restarts = 2, and the result keeps
// the lower-loss one per image.
func TestRunANNInversionKeepsBestRestart(t *testing.T) {
	m := tinyModel(t)
	targets := []int{0, 1, 2, 0, 1, 2}
	o := annOptions()
	both := runANN(t, m, targets, o, rand.New(rand.NewPCG(60, 61)))
	checkANNResult(t, m, targets, both)
	o.Restarts = 1
	rng := rand.New(rand.NewPCG(60, 61))
	first := runANN(t, m, targets, o, rng)
	second := runANN(t, m, targets, o, rng)
	var fromSecond int
	for i := range targets {
		keep := first
		if second.Loss[i] < first.Loss[i] {
			keep = second
			fromSecond++
		}
		if both.Loss[i] != keep.Loss[i] || !slices.Equal(both.Pixels[i*64:(i+1)*64], keep.Pixels[i*64:(i+1)*64]) {
			t.Errorf("image %d: kept loss %g, restarts %g and %g", i, both.Loss[i], first.Loss[i], second.Loss[i])
		}
	}
	if fromSecond == 0 || fromSecond == len(targets) {
		t.Errorf("%d of %d images from the second restart: the selection is not exercised", fromSecond, len(targets))
	}
}

// The ANN loop is the SNN's: on the ANN the images are adamLoop's with
// the ANN objective, and a network's own images differ from them.
func TestRunANNInversionUsesAdamLoop(t *testing.T) {
	m := tinyModel(t)
	targets := []int{2, 1}
	o := annOptions()
	o.Restarts = 1
	res := runANN(t, m, targets, o, rand.New(rand.NewPCG(5, 6)))
	x, err := adamLoop(context.Background(), m.Config, stdNorm, len(targets), o, rand.New(rand.NewPCG(5, 6)),
		func() error { return nil }, annObjective(m, targets))
	if err != nil {
		t.Fatal(err)
	}
	pix := make([]uint8, len(x.Data))
	quantize(pix, x.Data, stdNorm)
	if !slices.Equal(pix, res.Pixels) {
		t.Error("RunANNInversion's images are not adamLoop's")
	}
	o.Surrogate = snn.DefaultSurrogate()
	sx, err := adamRun(context.Background(), tinyNet(t, snn.Direct), stdNorm, targets, o, rand.New(rand.NewPCG(5, 6)), func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(sx.Data, x.Data) {
		t.Error("the SNN and the ANN objectives give the same images")
	}
}

func TestRunANNInversionErrors(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(t)
	pop := DefaultPopulation()
	if res, err := RunANNInversion(ctx, m, stdNorm, []int{0}, pop, rand.New(rand.NewPCG(1, 1)), nil); err == nil || res != nil {
		t.Errorf("population rule: %v, %v", res, err)
	}
	for i, mod := range []func(*InversionOptions){
		func(o *InversionOptions) { o.Rule = 2 }, func(o *InversionOptions) { o.Iterations = 0 },
		func(o *InversionOptions) { o.Restarts = 0 }, func(o *InversionOptions) { o.LR = math.NaN() },
		func(o *InversionOptions) { o.TV = -1 }, func(o *InversionOptions) { o.Jitter = 65 },
	} {
		o := annOptions()
		mod(&o)
		if res, err := RunANNInversion(ctx, m, stdNorm, []int{0}, o, rand.New(rand.NewPCG(1, 1)), nil); err == nil || res != nil {
			t.Errorf("case %d: %v, %v", i, res, err)
		}
	}
	if _, err := RunANNInversion(ctx, m, stdNorm, []int{3}, annOptions(), rand.New(rand.NewPCG(1, 1)), nil); err == nil {
		t.Error("target 3 of 3 classes accepted")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := RunANNInversion(cancelled, m, stdNorm, []int{0}, annOptions(), rand.New(rand.NewPCG(1, 1)), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	rec := &progresstest.Recorder{T: t, StopAfter: 2}
	_, err := RunANNInversion(ctx, m, stdNorm, []int{0}, annOptions(), rand.New(rand.NewPCG(1, 1)), rec.Func())
	rec.CheckStopped(err)
	var calls [][2]int
	o := annOptions()
	if _, err := RunANNInversion(ctx, m, stdNorm, []int{0, 1}, o, rand.New(rand.NewPCG(1, 1)), func(r progress.Report) error {
		if r.Label != "steps" {
			t.Errorf("label %q", r.Label)
		}
		calls = append(calls, [2]int{r.Done, r.Total})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := o.Restarts * o.Iterations; len(calls) != n || calls[n-1] != [2]int{n, n} {
		t.Errorf("progress %v, want %d steps", calls, n)
	}
}
