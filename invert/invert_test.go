package invert

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// tinyNet is a two-conv VGG on 8×8 RGB images with 4 classes, fast enough
// to optimise in a test.
func tinyNet(t testing.TB, seed uint64) *vgg.Model {
	t.Helper()
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{4, vgg.Pool, 8, vgg.Pool}, Hidden: []int{16}, Classes: 4,
		InChannels: 3, InHeight: 8, InWidth: 8, ConvDropout: 0.2, FCDropout: 0.5}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// problem draws n uniform images in [-1, 1] and random soft targets.
func problem(n, k int, seed uint64) (images, targets *tensor.Tensor) {
	rng := rand.New(rand.NewPCG(seed, 2))
	images = tensor.New(n, 3, 8, 8)
	images.RandUniform(rng, -1, 1)
	targets = tensor.New(n, k)
	for i := range n {
		var s float32
		row := targets.Data[i*k : (i+1)*k]
		for j := range row {
			row[j] = rng.Float32()
			s += row[j]
		}
		for j := range row {
			row[j] /= s
		}
	}
	return images, targets
}

func TestValidate(t *testing.T) {
	good := Options{Iterations: 10, LR: 1e-3, Temperature: 20, Batch: 4}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		ok   bool
	}{
		{"good", func(*Options) {}, true},
		{"zero iterations", func(o *Options) { o.Iterations = 0 }, false},
		{"too many iterations", func(o *Options) { o.Iterations = MaxIterations + 1 }, false},
		{"zero lr", func(o *Options) { o.LR = 0 }, false},
		{"nan lr", func(o *Options) { o.LR = math.NaN() }, false},
		{"inf lr", func(o *Options) { o.LR = math.Inf(1) }, false},
		{"negative temperature", func(o *Options) { o.Temperature = -1 }, false},
		{"nan temperature", func(o *Options) { o.Temperature = math.NaN() }, false},
		{"zero batch", func(o *Options) { o.Batch = 0 }, false},
		{"huge batch", func(o *Options) { o.Batch = MaxBatch + 1 }, false},
		{"clip", func(o *Options) { o.Clip, o.ClipLo, o.ClipHi = true, -1, 1 }, true},
		{"empty clip range", func(o *Options) { o.Clip, o.ClipLo, o.ClipHi = true, 1, 1 }, false},
		{"nan clip range", func(o *Options) { o.Clip, o.ClipLo, o.ClipHi = true, math.NaN(), 1 }, false},
	} {
		o := good
		tc.edit(&o)
		if err := o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestBadInputs(t *testing.T) {
	net := tinyNet(t, 1)
	o := Options{Iterations: 2, LR: 1e-2, Temperature: 20, Batch: 2}
	img, tgt := problem(3, 4, 1)
	nan := img.Clone()
	nan.Data[5] = float32(math.NaN())
	negT := tgt.Clone()
	negT.Data[1] = -0.5
	for _, tc := range []struct {
		name    string
		images  *tensor.Tensor
		targets *tensor.Tensor
		want    string
	}{
		{"nil", nil, tgt, "nil"},
		{"rank 3 images", tensor.New(3, 8, 8), tgt, "[N, C, H, W]"},
		{"negative dim", &tensor.Tensor{Shape: []int{-1, 3, 8, 8}}, tgt, "[N, C, H, W]"},
		{"too few targets", img, tensor.New(2, 4), "targets"},
		{"wrong class count", img, tensor.New(3, 5), "classes"},
		{"nan pixel", nan, tgt, "image value"},
		{"negative target", img, negT, "target value"},
	} {
		_, err := Run(context.Background(), net, tc.images, tc.targets, o, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

// batchTol bounds the difference between a batched and a one-image run.
// The per-image arithmetic is identical except for the order of additions
// inside the network's matrix products (different blockings for different
// batch sizes) and one float32 rounding of the mean-to-sum rescaling, each
// ~1e-7 relative; over 30 Adam steps of at most LR each they stay far below
// 1e-4 of the pixel range.
const batchTol = 1e-4

func TestBatchEqualsSingleRuns(t *testing.T) {
	const n, iters = 5, 30
	img, tgt := problem(n, 4, 3)
	net := tinyNet(t, 3)
	o := Options{Iterations: iters, LR: 1e-2, Temperature: 20, Batch: 4} // batches of 4 and 1
	batched, err := Run(context.Background(), net, img, tgt, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	per := img.Len() / n
	o.Batch = 1
	for i := range n {
		one, err := Run(context.Background(), net, tensor.FromData(img.Data[i*per:(i+1)*per], 1, 3, 8, 8),
			tensor.FromData(tgt.Data[i*4:(i+1)*4], 1, 4), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range one.Images.Data {
			if d := math.Abs(float64(v - batched.Images.Data[i*per+j])); d > batchTol {
				t.Fatalf("image %d pixel %d: batch-1 %g, batched %g (|Δ| %g > %g)", i, j, v, batched.Images.Data[i*per+j], d, batchTol)
			}
		}
		if d := math.Abs(one.FinalLoss[0] - batched.FinalLoss[i]); d > batchTol {
			t.Errorf("image %d: final loss %g alone, %g batched", i, one.FinalLoss[0], batched.FinalLoss[i])
		}
	}
}

func TestLossDecreases(t *testing.T) {
	img, tgt := problem(6, 4, 4)
	orig := img.Clone()
	net := tinyNet(t, 4)
	var calls, lastDone, lastTotal int
	res, err := Run(context.Background(), net, img, tgt, Options{Iterations: 50, LR: 2e-2, Temperature: 20, Batch: 4},
		func(r progress.Report) error { calls++; lastDone, lastTotal = r.Done, r.Total; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if calls != 100 || lastDone != 100 || lastTotal != 100 {
		t.Errorf("progress called %d times, last %d/%d; want 100, 100/100", calls, lastDone, lastTotal)
	}
	for i := range res.FinalLoss {
		if !(res.FinalLoss[i] < res.InitialLoss[i]) {
			t.Errorf("image %d: loss %g → %g, want a decrease", i, res.InitialLoss[i], res.FinalLoss[i])
		}
	}
	for i, v := range img.Data {
		if v != orig.Data[i] {
			t.Fatal("Run modified its input images")
		}
	}
	// The reported logits are those of the returned images.
	z := net.Forward(res.Images, nn.Mode{})
	for i, v := range z.Data {
		if v != res.Logits.Data[i] {
			t.Fatalf("logit %d: %g reported, %g recomputed", i, res.Logits.Data[i], v)
		}
	}
	l, err := Loss(z, tgt, 20)
	if err != nil || l[0] != res.FinalLoss[0] {
		t.Errorf("Loss = %v, %v; want %g first", l, err, res.FinalLoss[0])
	}
}

func TestStops(t *testing.T) {
	img, tgt := problem(2, 4, 5)
	net := tinyNet(t, 5)
	o := Options{Iterations: 10, LR: 1e-2, Temperature: 20, Batch: 1}
	rec := &progresstest.Recorder{T: t, StopAfter: 3}
	_, err := Run(context.Background(), net, img, tgt, o, rec.Func())
	rec.CheckStopped(err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, net, img, tgt, o, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: Run returned %v", err)
	}
}

func TestClip(t *testing.T) {
	img, tgt := problem(3, 4, 6)
	net := tinyNet(t, 6)
	o := Options{Iterations: 40, LR: 0.1, Temperature: 20, Batch: 3}
	free, err := Run(context.Background(), net, img, tgt, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if free.Images.MaxAbs() <= 1 {
		t.Fatalf("unclipped run stayed in [-1, 1] (max |x| %g); the test needs a larger step", free.Images.MaxAbs())
	}
	o.Clip, o.ClipLo, o.ClipHi = true, -1, 1
	clipped, err := Run(context.Background(), net, img, tgt, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := clipped.Images.MaxAbs(); m > 1 {
		t.Errorf("clipped run reached |x| = %g", m)
	}
}

func TestBounded(t *testing.T) {
	img, tgt := problem(3, 4, 7)
	net := tinyNet(t, 7)
	o := Options{Iterations: 40, LR: 0.1, Temperature: 20, Batch: 3, Bounded: true}
	res, err := Run(context.Background(), net, img, tgt, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Images.MaxAbs(); !(m < 1) {
		t.Errorf("bounded run reached |x| = %g", m)
	}
	for i := range res.FinalLoss {
		if !(res.FinalLoss[i] < res.InitialLoss[i]) {
			t.Errorf("image %d: loss %g → %g, want a decrease", i, res.InitialLoss[i], res.FinalLoss[i])
		}
	}
	// The reparametrised gradient is exact: one step from w along −dL/dw
	// with a tiny rate lowers the loss (checked through a batch-1 run).
	o.Batch, o.Iterations, o.LR = 1, 1, 1e-4
	one, err := Run(context.Background(), net, tensor.FromData(img.Data[:img.Len()/3], 1, 3, 8, 8), tensor.FromData(tgt.Data[:4], 1, 4), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !(one.FinalLoss[0] < one.InitialLoss[0]) {
		t.Errorf("one small bounded step: loss %g → %g", one.InitialLoss[0], one.FinalLoss[0])
	}
}

// nanAfter wraps a network and poisons its logits from the given forward
// call on, as a diverging model would.
type nanAfter struct {
	Network
	calls, from int
}

func (n *nanAfter) Forward(x *tensor.Tensor, m nn.Mode) *tensor.Tensor {
	z := n.Network.Forward(x, m)
	if n.calls++; n.calls >= n.from {
		z.Data[0] = float32(math.NaN())
	}
	return z
}

// TestNonFiniteStops checks that a NaN anywhere in the optimisation is an
// error, not an undefined pixel: in the first forward pass, mid-way, and in
// the final forward pass that records the logits.
func TestNonFiniteStops(t *testing.T) {
	o := Options{Iterations: 3, LR: 1e-2, Temperature: 20, Batch: 4}
	img, tgt := problem(2, 4, 1)
	for _, from := range []int{1, 2, 4} {
		net := &nanAfter{Network: tinyNet(t, 1), from: from}
		_, err := Run(context.Background(), net, img, tgt, o, nil)
		if !errors.Is(err, ErrNonFinite) {
			t.Errorf("NaN from forward call %d: err %v, want ErrNonFinite", from, err)
		}
	}
	// The same run without poison succeeds, so the test can fail.
	if _, err := Run(context.Background(), tinyNet(t, 1), img, tgt, o, nil); err != nil {
		t.Fatal(err)
	}
}
