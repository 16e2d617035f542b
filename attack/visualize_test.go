package attack

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// The re-converted ANN computes exactly what the SNN's own model does, and
// owns its weights.
func TestReconvert(t *testing.T) {
	net := tinyNet(t, snn.Poisson)
	src := net.Model
	before := make([][]float32, 0)
	for _, p := range src.Params() {
		before = append(before, slices.Clone(p.W.Data))
	}
	m, err := Reconvert(net)
	if err != nil {
		t.Fatal(err)
	}
	if m == src || !reflect.DeepEqual(m.Config, src.Config) {
		t.Fatalf("Reconvert returned the source model or another architecture: %+v", m.Config)
	}
	x := randImages(5, 7)
	want := src.Forward(x, nn.Mode{}).Clone()
	got := m.Forward(x, nn.Mode{}).Clone()
	if !slices.Equal(got.Data, want.Data) {
		t.Fatalf("re-converted logits %v, the SNN model's %v", got.Data, want.Data)
	}
	// A model with other weights gives other logits, so the equality above
	// is not an accident of the architecture.
	other, err := vgg.New(src.Config, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(other.Forward(x, nn.Mode{}).Data, want.Data) {
		t.Fatal("a freshly initialised model gives the same logits: the check is vacuous")
	}
	// Nothing is shared: overwrite every weight and gradient of the copy.
	dst, from := m.Params(), src.Params()
	if len(dst) != len(from) {
		t.Fatalf("%d weight tensors, source has %d", len(dst), len(from))
	}
	for i, p := range dst {
		if p.Name != from[i].Name {
			t.Errorf("weight %d named %q, source %q", i, p.Name, from[i].Name)
		}
		p.W.Fill(0.5)
		p.G.Fill(3)
	}
	for i, p := range from {
		if !slices.Equal(p.W.Data, before[i]) {
			t.Errorf("%s changed when the re-converted model's weights were overwritten", p.Name)
		}
		for j, g := range p.G.Data {
			if g != 0 {
				t.Errorf("%s gradient %d is %g after writing the copy's gradients", p.Name, j, g)
				break
			}
		}
	}
	if again := src.Forward(x, nn.Mode{}); !slices.Equal(again.Data, want.Data) {
		t.Error("source logits changed after the copy was modified")
	}
}

// batchRounding bounds how far a logit may move when the same images go
// through the network in batches of another size. The pure-Go GEMM sums
// every dot product in the same order whatever the matrix size, so it must
// give the same bits (tolerance 0); a BLAS may pick kernels by size that
// round the last bits differently (OpenBLAS's Haswell kernels do: 6e-8 on
// these logits of magnitude below 1, measured), bounded here by 4 ulps of
// 1.
func batchRounding() float64 {
	if gemm.CurrentInfo().Backend == "gonum" {
		return 0
	}
	return 4 * 0x1p-23
}

// closeTo reports whether every value of got is within tol of want's.
func closeTo(got, want []float32, tol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.Abs(float64(got[i])-float64(want[i])) > tol {
			return false
		}
	}
	return true
}

// Classify is the eval-mode forward pass, whatever the batch size (within
// the GEMM's rounding, batchRounding).
func TestClassifyBatches(t *testing.T) {
	m := tinyModel(t)
	x := randImages(5, 11)
	want := m.Forward(x, nn.Mode{}).Clone()
	for _, batch := range []int{0, -1, 1, 2, 5, 9} {
		got := Classify(m, x, batch)
		if !tensor.SameShape(got.Shape, []int{5, 3}) || !closeTo(got.Data, want.Data, batchRounding()) {
			t.Errorf("batch %d: %v %v, want %v (within %g)", batch, got.Shape, got.Data, want.Data, batchRounding())
		}
	}
}

// refVisualize transcribes RunVisualize's documented algorithm for all
// images at once, from the initial pixels init, and returns the final
// pixels.
func refVisualize(m *vgg.Model, norm imageset.Normalization, targets []int, o VisualizeOptions, init []uint8) []uint8 {
	cfg := m.Config
	n, k := len(targets), cfg.Classes
	c, h, w := cfg.InChannels, cfg.InHeight, cfg.InWidth
	img := slices.Clone(init)
	x := tensor.New(n, c, h, w)
	lr, wd := float32(o.LR), float32(o.WeightDecay)
	for i := 1; i <= o.Iterations-1; i++ {
		if o.BlurEvery > 0 && i%o.BlurEvery == 0 {
			GaussianBlur(img, n*c, h, w)
		}
		for j, p := range img {
			x.Data[j] = norm.Float32Value(p)
		}
		m.Forward(x, nn.Mode{})
		dz := tensor.New(n, k)
		for j, t := range targets {
			dz.Data[j*k+t] = -1 // ∂(−y_c)/∂y
		}
		dx := m.Backward(dz, nn.Grad{Input: true})
		for j, v := range x.Data {
			x.Data[j] = v - lr*(dx.Data[j]+wd*v)
		}
		quantize(img, x.Data, norm)
	}
	return img
}

// initialPixels returns the n·64 pixels RunVisualize starts from with a
// generator seeded (s1, s2): its documented uniform draw.
func initialPixels(n int, s1, s2 uint64) []uint8 {
	p := make([]uint8, n*64)
	randomPixels(p, rand.New(rand.NewPCG(s1, s2)))
	return p
}

// visLR moves most pixels of the tiny model by one to twenty grey levels
// per step (its input gradients |∂y_c/∂x| average 0.04 and peak at 0.3:
// 0.5·0.04 normalised is 2.8 grey levels), far from the clip.
const visLR = 0.5

func TestRunVisualizeMatchesReference(t *testing.T) {
	m := tinyModel(t)
	targets := []int{0, 1, 2, 2}
	for _, o := range []VisualizeOptions{
		{Iterations: 2, LR: visLR, WeightDecay: 0.05},               // one step, by hand
		{Iterations: 2, LR: visLR, WeightDecay: 0.05, BlurEvery: 1}, // blur, then the step
		{Iterations: 5, LR: visLR, WeightDecay: 1e-4, BlurEvery: 2}, // steps 1, 2 (blurred), 3, 4 (blurred)
	} {
		res, err := RunVisualize(context.Background(), m, stdNorm, targets, o, rand.New(rand.NewPCG(21, 22)), nil)
		if err != nil {
			t.Fatal(err)
		}
		initial := initialPixels(len(targets), 21, 22)
		want := refVisualize(m, stdNorm, targets, o, initial)
		if !slices.Equal(res.Pixels, want) {
			t.Errorf("%+v: pixels differ from the reference algorithm", o)
		}
		var moved, extreme int
		for i, p := range want {
			if p != initial[i] {
				moved++
			}
			if p == 0 || p == 255 {
				extreme++
			}
		}
		if moved < len(want)/2 || extreme > len(want)/10 {
			t.Errorf("%+v: %d of %d pixels moved, %d at 0 or 255: the comparison would not see a wrong step",
				o, moved, len(want), extreme)
		}
		checkVisualizeResult(t, m, targets, res)
	}
}

// checkVisualizeResult checks the fields every RunVisualize result shares.
func checkVisualizeResult(t *testing.T, m *vgg.Model, targets []int, res *Result) {
	t.Helper()
	n := len(targets)
	if res.Method != Visualize || res.Shape != [4]int{n, 1, 8, 8} || !slices.Equal(res.Targets, targets) ||
		len(res.Pixels) != n*64 || len(res.Loss) != n {
		t.Fatalf("result method %v shape %v targets %v, %d pixels, %d losses", res.Method, res.Shape, res.Targets,
			len(res.Pixels), len(res.Loss))
	}
	x := tensor.New(n, 1, 8, 8)
	normalize(x.Data, res.Pixels, stdNorm)
	if !slices.Equal(res.Images.Data, x.Data) {
		t.Error("Images are not the normalised Pixels")
	}
	z := m.Forward(x, nn.Mode{})
	if !slices.Equal(res.Logits.Data, z.Data) {
		t.Errorf("Logits %v, the model gives %v on the final images", res.Logits.Data, z.Data)
	}
	for i, c := range targets {
		if res.Loss[i] != -float64(z.Data[i*3+c]) {
			t.Errorf("image %d: loss %g, want −y_%d = %g", i, res.Loss[i], c, -z.Data[i*3+c])
		}
	}
}

// Blurring is part of the algorithm: the same run without it differs.
func TestRunVisualizeBlurMatters(t *testing.T) {
	m := tinyModel(t)
	run := func(every int) []uint8 {
		res, err := RunVisualize(context.Background(), m, stdNorm, []int{1, 2}, VisualizeOptions{Iterations: 2, LR: visLR, BlurEvery: every},
			rand.New(rand.NewPCG(3, 3)), nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Pixels
	}
	if slices.Equal(run(0), run(1)) {
		t.Error("BlurEvery 1 gives the pixels of BlurEvery 0")
	}
	if !slices.Equal(run(0), run(2)) {
		t.Error("BlurEvery 2 blurred before step 1 (of 1)")
	}
}

// Images are optimised independently: batching changes nothing.
func TestRunVisualizeBatchInvariant(t *testing.T) {
	m := tinyModel(t)
	targets := []int{0, 1, 2, 0, 1}
	o := VisualizeOptions{Iterations: 4, LR: visLR, WeightDecay: 1e-3, BlurEvery: 2}
	var ref *Result
	for _, batch := range []int{0, 1, 2, 5} {
		o.Batch = batch
		res, err := RunVisualize(context.Background(), m, stdNorm, targets, o, rand.New(rand.NewPCG(8, 9)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = res
			continue
		}
		loss := make([]float32, len(res.Loss))
		refLoss := make([]float32, len(ref.Loss))
		for i := range loss {
			loss[i], refLoss[i] = float32(res.Loss[i]), float32(ref.Loss[i])
		}
		// The pixels are the attack's output: equal. Logits and losses
		// may differ by the GEMM's rounding (batchRounding).
		if !slices.Equal(res.Pixels, ref.Pixels) || !closeTo(res.Logits.Data, ref.Logits.Data, batchRounding()) ||
			!closeTo(loss, refLoss, 4*batchRounding()) {
			t.Errorf("batch %d differs from batch 0", batch)
		}
	}
	// Each image on its own, with the initial pixels it gets in the batch.
	init := initialPixels(len(targets), 8, 9)
	for i, c := range targets {
		want := refVisualize(m, stdNorm, []int{c}, o, init[i*64:(i+1)*64])
		if !slices.Equal(ref.Pixels[i*64:(i+1)*64], want) {
			t.Errorf("image %d differs from its own optimisation alone", i)
		}
	}
}

// Gradient ascent on the target logit raises it: after 30 steps the loss
// −y_c is lower than on the initial images for every image, and the model
// assigns most images to their targets.
func TestRunVisualizeLowersLoss(t *testing.T) {
	m := tinyModel(t)
	targets := Targets(3, 2)
	run := func(iters int) *Result {
		o := DefaultVisualize()
		o.Iterations, o.LR = iters, visLR
		res, err := RunVisualize(context.Background(), m, stdNorm, targets, o, rand.New(rand.NewPCG(4, 4)), nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	start, end := run(1), run(31)
	for i := range targets {
		if !(end.Loss[i] < start.Loss[i]) {
			t.Errorf("image %d (class %d): loss %g after 30 steps, %g at the start", i, targets[i], end.Loss[i], start.Loss[i])
		}
	}
	if h := end.Hits(); h < 5.0/6 {
		t.Errorf("hits %g after 30 steps (%g at the start), want at least 5/6", h, start.Hits())
	}
}

func TestRunVisualizeErrors(t *testing.T) {
	m := tinyModel(t)
	ctx := context.Background()
	good := VisualizeOptions{Iterations: 3, LR: 1}
	if err := DefaultVisualize().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	nan, inf := math.NaN(), math.Inf(1)
	for _, o := range []VisualizeOptions{
		{Iterations: 0, LR: 1}, {Iterations: MaxIterations + 1, LR: 1},
		{Iterations: 3, LR: 0}, {Iterations: 3, LR: -1}, {Iterations: 3, LR: nan}, {Iterations: 3, LR: inf},
		{Iterations: 3, LR: 1, WeightDecay: -1}, {Iterations: 3, LR: 1, WeightDecay: nan}, {Iterations: 3, LR: 1, WeightDecay: inf},
		{Iterations: 3, LR: 1, BlurEvery: -1}, {Iterations: 3, LR: 1, BlurEvery: MaxIterations + 1},
		{Iterations: 3, LR: 1, Batch: -1}, {Iterations: 3, LR: 1, Batch: MaxImages + 1},
	} {
		if o.Validate() == nil {
			t.Errorf("%+v validates", o)
		}
		if res, err := RunVisualize(ctx, m, stdNorm, []int{0}, o, rand.New(rand.NewPCG(1, 1)), nil); err == nil || res != nil {
			t.Errorf("%+v: RunVisualize returned %v, %v", o, res, err)
		}
	}
	for _, norm := range []imageset.Normalization{{Mean: 0.5, Std: 0}, {Mean: nan, Std: 1}} {
		if _, err := RunVisualize(ctx, m, norm, []int{0}, good, rand.New(rand.NewPCG(1, 1)), nil); err == nil {
			t.Errorf("normalisation %+v accepted", norm)
		}
	}
	for _, tg := range [][]int{nil, {3}, {0, -1}} {
		if _, err := RunVisualize(ctx, m, stdNorm, tg, good, rand.New(rand.NewPCG(1, 1)), nil); err == nil {
			t.Errorf("targets %v accepted for 3 classes", tg)
		}
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := RunVisualize(cancelled, m, stdNorm, []int{0}, good, rand.New(rand.NewPCG(1, 1)), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}

	// Progress: called once per step and batch with a fixed total; its
	// error, or a cancellation from inside it, stops the run at once.
	var calls [][2]int
	o := good
	o.Batch = 2
	if _, err := RunVisualize(ctx, m, stdNorm, []int{0, 1, 2}, o, rand.New(rand.NewPCG(1, 1)), func(r progress.Report) error {
		calls = append(calls, [2]int{r.Done, r.Total})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{1, 4}, {2, 4}, {3, 4}, {4, 4}}; !slices.Equal(calls, want) {
		t.Errorf("progress calls %v, want %v (2 batches × 2 steps)", calls, want)
	}
	rec := &progresstest.Recorder{T: t, StopAfter: 2}
	_, err := RunVisualize(ctx, m, stdNorm, []int{0, 1, 2}, o, rand.New(rand.NewPCG(1, 1)), rec.Func())
	rec.CheckStopped(err)
	var n int
	ctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	n = 0
	if _, err := RunVisualize(ctx2, m, stdNorm, []int{0, 1, 2}, o, rand.New(rand.NewPCG(1, 1)), func(progress.Report) error {
		n++
		cancel2()
		return nil
	}); !errors.Is(err, context.Canceled) || n != 1 {
		t.Errorf("cancelled during the run: %v after %d progress calls", err, n)
	}
	// One iteration is no update: the random initial images are returned.
	res, err := RunVisualize(ctx, m, stdNorm, []int{2}, VisualizeOptions{Iterations: 1, LR: 1}, rand.New(rand.NewPCG(6, 6)),
		func(progress.Report) error { t.Error("progress called without a step"); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Pixels, initialPixels(1, 6, 6)) {
		t.Error("one iteration changed the initial image")
	}
}
