package snn

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// TestIFClosedForm: an IF neuron (λ = 1, soft reset) with constant input
// 0 < I ≤ θ fires ⌈T·I/θ⌉ − 1 times in T steps (strict >, so
// U = θ exactly does not fire). Values are exact binary fractions, so the
// float32 arithmetic is exact.
func TestIFClosedForm(t *testing.T) {
	const T = 64
	for _, c := range []struct{ in, theta float32 }{{1, 1}, {0.25, 1}, {0.75, 1.5}, {0.125, 2}, {0.5, 0.5}} {
		cur := make([]float32, T)
		for i := range cur {
			cur[i] = c.in
		}
		want := int64(math.Ceil(T*float64(c.in)/float64(c.theta))) - 1
		for name, scan := range map[string]func(out, cur, u []float32) int64{
			"go": func(out, cur, u []float32) int64 {
				return neuronScanStridedGo(out, cur, u, T, 1, 1, 0, 1, c.theta, 1, ResetSubtract)
			},
			"kernel": func(out, cur, u []float32) int64 {
				return neuronScanStrided(out, cur, u, T, 1, 1, 0, 1, c.theta, 1, ResetSubtract)
			},
		} {
			out, u := make([]float32, T), make([]float32, 1)
			if got := scan(out, cur, u); got != want {
				t.Errorf("%s: I=%g θ=%g: %d spikes, want %d", name, c.in, c.theta, got, want)
			}
			var sum float32
			for _, o := range out {
				sum += o
			}
			if int64(sum) != want {
				t.Errorf("%s: spike train sums to %g, count says %d", name, sum, want)
			}
		}
	}
}

// TestNeuronTrace checks the membrane trace of both reset modes and a leak.
func TestNeuronTrace(t *testing.T) {
	cur := []float32{0.6, 0.6, 0.6, 0, 0.6}
	for _, c := range []struct {
		reset      Reset
		leak       float32
		wantSpikes []float32
		wantU      float32
	}{
		// subtract: U = .6, 1.2→.2 (spike), .8, .8, 1.4→.4 (spike)
		{ResetSubtract, 1, []float32{0, 1, 0, 0, 1}, 0.4},
		// zero: U = .6, 1.2→0 (spike), .6, .6, 1.2→0 (spike)
		{ResetZero, 1, []float32{0, 1, 0, 0, 1}, 0},
		// leak .5: U = .6, .9, 1.05→.05 (spike), .025, .6125
		{ResetSubtract, 0.5, []float32{0, 0, 1, 0, 0}, 0.6125},
	} {
		out, u := make([]float32, 5), make([]float32, 1)
		neuronScanStrided(out, cur, u, 5, 1, 1, 0, 1, 1, c.leak, c.reset)
		for i := range out {
			if out[i] != c.wantSpikes[i] {
				t.Fatalf("%v leak %g: spikes %v want %v", c.reset, c.leak, out, c.wantSpikes)
			}
		}
		if math.Abs(float64(u[0]-c.wantU)) > 1e-6 {
			t.Fatalf("%v leak %g: final U %g want %g", c.reset, c.leak, u[0], c.wantU)
		}
	}
}

func TestPoissonEncoderMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := []float32{-1, -0.7, -0.2, 0, 0.3, 0.5, 0.9, 1}
	sum := make([]float64, len(x))
	dst := make([]float32, len(x))
	const steps = 20000
	for range steps {
		PoissonEncode(dst, x, rng)
		for i, v := range dst {
			if v != 0 && v != 1 && v != -1 {
				t.Fatalf("spike value %g", v)
			}
			if v != 0 && (v > 0) != (x[i] > 0) {
				t.Fatalf("spike sign %g for pixel %g", v, x[i])
			}
			sum[i] += float64(v)
		}
	}
	// Standard error of a Bernoulli mean over 20k draws is ≤ 0.0036; 0.02 is > 5σ.
	for i := range x {
		if m := sum[i] / steps; math.Abs(m-float64(x[i])) > 0.02 {
			t.Errorf("pixel %g: mean spike %g", x[i], m)
		}
	}
}

func quantise(m *vgg.Model) {
	// Weights become multiples of 2⁻⁸ so that every sum the simulation forms
	// is exact in float32, whatever the summation order.
	for _, p := range m.Params() {
		for i, v := range p.W.Data {
			p.W.Data[i] = float32(math.Round(float64(v)*256)) / 256
		}
	}
}

func tinyNet(t testing.TB, quant bool, T int) (*Network, *tensor.Tensor) {
	t.Helper()
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{8, 8, vgg.A, 16, vgg.A}, Hidden: []int{32}, Classes: 5,
		InChannels: 2, InHeight: 8, InWidth: 8}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if quant {
		quantise(m)
	}
	n, err := New(m, Config{Timesteps: T, Leak: 1, Thresholds: []float32{0.5, 0.75, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(6, 2, 8, 8)
	x.RandUniform(rand.New(rand.NewPCG(5, 6)), -1, 1)
	return n, x
}

func run(t testing.TB, n *Network, x *tensor.Tensor, o Options) *Result {
	t.Helper()
	r, err := n.Run(context.Background(), x, rand.New(rand.NewPCG(9, 9)), o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDenseAndEventPathsAgree(t *testing.T) {
	n, x := tinyNet(t, true, 12)
	d := run(t, n, x, Options{Path: Dense})
	e := run(t, n, x, Options{Path: Events})
	for l := range d.Layers {
		if d.Layers[l].Spikes != e.Layers[l].Spikes || d.Layers[l].InputEvents != e.Layers[l].InputEvents {
			t.Fatalf("layer %d: dense %+v events %+v", l, d.Layers[l], e.Layers[l])
		}
	}
	for i := range d.Logits().Data {
		if d.Logits().Data[i] != e.Logits().Data[i] {
			t.Fatalf("output %d: dense %g events %g (quantised weights must agree exactly)", i, d.Logits().Data[i], e.Logits().Data[i])
		}
	}
	if d.Layers[0].Spikes == 0 || d.Layers[2].Spikes == 0 {
		t.Fatalf("test network is silent: %+v", d.Layers)
	}
	// With unquantised weights the paths differ only by summation order.
	n, x = tinyNet(t, false, 12)
	d, e = run(t, n, x, Options{Path: Dense}), run(t, n, x, Options{Path: Events})
	scale := d.Logits().MaxAbs()
	for i := range d.Logits().Data {
		if math.Abs(float64(d.Logits().Data[i]-e.Logits().Data[i])) > 1e-4*float64(scale) {
			t.Fatalf("output %d: dense %g events %g", i, d.Logits().Data[i], e.Logits().Data[i])
		}
	}
}

func TestChunkingInvariance(t *testing.T) {
	n, x := tinyNet(t, false, 10)
	whole := run(t, n, x, Options{Readouts: []int{3, 7}})
	bits := run(t, n, x, Options{Readouts: []int{7, 3}, MemoryBudget: 1})
	if len(whole.Potentials) != 3 || whole.Readouts[0] != 3 || whole.Readouts[2] != 10 {
		t.Fatalf("readouts %v", whole.Readouts)
	}
	for r := range whole.Potentials {
		for i, v := range whole.Potentials[r].Data {
			if bits.Potentials[r].Data[i] != v {
				t.Fatalf("readout %d output %d: %g vs %g with one image per chunk", r, i, v, bits.Potentials[r].Data[i])
			}
		}
	}
}

// TestConvEventsMatchDense checks the event-driven convolution against
// im2col + GEMM, which sums in another order. (TestKernelTwins compares the
// C kernels with their Go twins.)
func TestConvEventsMatchDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	h, w, cin, cout := 5, 6, 3, 20
	in := make([]float32, h*w*cin)
	for i := range in {
		if rng.Float64() < 0.3 {
			in[i] = float32(rng.IntN(5)) * 0.25
		}
	}
	wt := make([]float32, 9*cin*cout)
	for i := range wt {
		wt[i] = float32(rng.NormFloat64())
	}
	a := make([]float32, h*w*cout)
	convEvents(a, in, wt, h, w, cin, cout, 3, 1)
	c := make([]float32, h*w*cout)
	convDense(c, in, wt, 1, h, w, cin, cout, 3, 1, nil)
	for i := range a {
		if math.Abs(float64(a[i]-c[i])) > 1e-5 {
			t.Fatalf("conv %d: events %g dense %g", i, a[i], c[i])
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for name, c := range map[string]Config{
		"T":         {Timesteps: 0, Leak: 1, Thresholds: []float32{1}},
		"leak":      {Timesteps: 5, Leak: 0, Thresholds: []float32{1}},
		"count":     {Timesteps: 5, Leak: 1, Thresholds: []float32{1, 2}},
		"threshold": {Timesteps: 5, Leak: 1, Thresholds: []float32{0}},
		"nan":       {Timesteps: 5, Leak: 1, Thresholds: []float32{float32(math.NaN())}},
	} {
		if c.Validate(1) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var r Reset
	if err := r.UnmarshalText([]byte("zero")); err != nil || r != ResetZero {
		t.Fatal(err)
	}
	if r.UnmarshalText([]byte("sideways")) == nil {
		t.Fatal("bad reset accepted")
	}
}

// TestRatesOfEmptyRun: rates of a run over no images are 0, not NaN.
func TestRatesOfEmptyRun(t *testing.T) {
	r := &Result{Layers: []LayerStats{{Neurons: 10, InputSize: 4}}, Images: 0, Timesteps: 5}
	if sr, ir := r.SpikeRate(0), r.InputRate(0); sr != 0 || ir != 0 {
		t.Fatalf("spike rate %g, input rate %g over no images, want 0 and 0", sr, ir)
	}
	r.Images, r.Layers[0].Spikes, r.Layers[0].InputEvents = 2, 25, 8
	if sr, ir := r.SpikeRate(0), r.InputRate(0); sr != 0.25 || ir != 0.2 {
		t.Fatalf("spike rate %g, input rate %g, want 0.25 and 0.2", sr, ir)
	}
}

// The progress contract in Run: one report per chunk of images (here one
// image per chunk), and a callback's error stops the run, wrapped.
func TestRunProgress(t *testing.T) {
	n, x := tinyNet(t, false, 4)
	rec := &progresstest.Recorder{T: t}
	run(t, n, x, Options{MemoryBudget: 1, Progress: rec.Func()})
	if len(rec.Reports) != 6 || rec.Reports[5].Done != 6 || rec.Reports[5].Total != 6 || rec.Reports[0].Label != "images" {
		t.Fatalf("reports %+v, want images 1/6 … 6/6", rec.Reports)
	}
	stop := &progresstest.Recorder{T: t, StopAfter: 2}
	_, err := n.Run(context.Background(), x, rand.New(rand.NewPCG(9, 9)), Options{MemoryBudget: 1, Progress: stop.Func()})
	stop.CheckStopped(err)
}
