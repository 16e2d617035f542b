package attack

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// transposedConv returns dx[n, ci, y, x] = Σ_{co, a, b} w[co, ci, a, b]·
// g[n, co, y−a+pad, x−b+pad]: the adjoint of a stride-1 convolution whose
// output has the input's size (NCHW), written out naively.
func transposedConv(g, w *tensor.Tensor, cin, pad int) []float32 {
	N, cout, h, wd := g.Shape[0], g.Shape[1], g.Shape[2], g.Shape[3]
	k := w.Shape[2]
	dx := make([]float32, N*cin*h*wd)
	for n := range N {
		for co := range cout {
			for ci := range cin {
				for a := range k {
					for b := range k {
						wv := w.Data[((co*cin+ci)*k+a)*k+b]
						for y := range h {
							oy := y - a + pad
							if oy < 0 || oy >= h {
								continue
							}
							for xx := range wd {
								ox := xx - b + pad
								if ox < 0 || ox >= wd {
									continue
								}
								dx[((n*cin+ci)*h+y)*wd+xx] += wv * g.Data[((n*cout+co)*h+oy)*wd+ox]
							}
						}
					}
				}
			}
		}
	}
	return dx
}

// assertClose fails when some |got − want| exceeds tol times the largest
// |want|.
func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var scale float64
	for _, v := range want {
		scale = max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > tol*scale {
			t.Fatalf("%s[%d] = %g, want %g (|diff| %g > %g)", what, i, got[i], want[i], d, tol*scale)
		}
	}
}

// convTol bounds float32 summation-order differences in a 3×3
// convolution's adjoint: at most 36 products per value (4 output channels
// × 9 taps), each sum rounding by ≤ 2⁻²⁴ of the running magnitude, so
// below 36·6e-8 ≈ 2e-6 of the largest value; 1e-5 leaves margin and
// is still far below any real error (a wrong tap or flip is O(1)).
const convTol = 1e-5

func nonZero(v []float32) int {
	var n int
	for _, x := range v {
		if x != 0 {
			n++
		}
	}
	return n
}

func TestConvGradient(t *testing.T) {
	ctx := context.Background()
	sg := snn.DefaultSurrogate()
	targets := []int{0, 1, 2, 1}
	for _, enc := range []snn.Encoder{snn.Poisson, snn.Direct} {
		net := tinyNet(t, enc)
		x := randImages(len(targets), 31)
		G, dx, logits, err := ConvGradient(ctx, net, x, targets, sg, rand.New(rand.NewPCG(7, 7)))
		if err != nil {
			t.Fatal(err)
		}
		if !tensor.SameShape(G.Shape, []int{4, 4, 8, 8}) || !tensor.SameShape(dx.Shape, []int{4, 1, 8, 8}) ||
			!tensor.SameShape(logits.Shape, []int{4, 3}) {
			t.Fatalf("%v: shapes G %v, dx %v, logits %v", enc, G.Shape, dx.Shape, logits.Shape)
		}
		if nz := nonZero(G.Data); nz < len(G.Data)/10 {
			t.Fatalf("%v: only %d of %d current gradients are non-zero", enc, nz, len(G.Data))
		}
		conv := net.Model.Convs[0]
		assertClose(t, enc.String()+" conv1ᵀ(G)", transposedConv(G, conv.Weight.W, conv.InC, conv.Pad), dx.Data, convTol)

		r := convGradRun{enc: enc, net: net, x: x, targets: targets, sg: sg, G: G, dx: dx, logits: logits}
		r.checkAgainstTape(ctx, t)
		r.checkTargetsMatter(ctx, t)
		r.checkImageAlone(ctx, t)
		r.checkSeedMatters(ctx, t)
	}
}

// convGradRun is one ConvGradient call of TestConvGradient, with generator
// seed (7, 7): its network, images, targets and surrogate, and the current
// gradient G, input gradient dx and logits it returned.
type convGradRun struct {
	enc           snn.Encoder
	net           *snn.Network
	x             *tensor.Tensor
	targets       []int
	sg            snn.Surrogate
	G, dx, logits *tensor.Tensor
}

// checkAgainstTape runs the same pass by hand: G and δx are the tape's
// sums over time divided by T, for the one-hot loss gradient of the
// targets, and the logits are the tape's.
func (r convGradRun) checkAgainstTape(ctx context.Context, t *testing.T) {
	enc, net, G, dx := r.enc, r.net, r.G, r.dx
	tp, err := net.Forward(ctx, r.x, rand.New(rand.NewPCG(7, 7)),
		snn.TrainOptions{Surrogate: r.sg, InputGradient: true, CurrentGradient: true, Frozen: true})
	if err != nil {
		t.Fatal(err)
	}
	dS := tensor.New(4, 3)
	for i, c := range r.targets {
		dS.Data[i*3+c] = 1
	}
	sx, err := tp.Backward(ctx, dS)
	if err != nil {
		t.Fatal(err)
	}
	T := float32(net.Config.Timesteps)
	for i, v := range tp.CurrentGradient().Data {
		if G.Data[i] != v/T {
			t.Fatalf("%v: G[%d] = %g, want Σ_t/T = %g", enc, i, G.Data[i], v/T)
		}
	}
	for i, v := range sx.Data {
		if dx.Data[i] != v/T {
			t.Fatalf("%v: δx[%d] = %g, want %g", enc, i, dx.Data[i], v/T)
		}
	}
	if !slices.Equal(r.logits.Data, tp.Logits().Data) {
		t.Errorf("%v: logits differ from the tape's", enc)
	}
}

// checkTargetsMatter checks that another target gives another gradient.
func (r convGradRun) checkTargetsMatter(ctx context.Context, t *testing.T) {
	G2, _, _, err := ConvGradient(ctx, r.net, r.x, []int{1, 2, 0, 0}, r.sg, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(G2.Data, r.G.Data) {
		t.Errorf("%v: the gradient does not depend on the targets", r.enc)
	}
}

// checkImageAlone checks that images are independent: image 2 alone gives
// its row of the batch (for Poisson input with the seed it got in the
// batch: the third draw of the generator).
func (r convGradRun) checkImageAlone(ctx context.Context, t *testing.T) {
	enc := r.enc
	rng := rand.New(rand.NewPCG(7, 7))
	rng.Uint64()
	rng.Uint64()
	one := tensor.FromData(slices.Clone(r.x.Data[2*64:3*64]), 1, 1, 8, 8)
	G1, dx1, z1, err := ConvGradient(ctx, r.net, one, r.targets[2:3], r.sg, rng)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, enc.String()+" image 2 alone: G", G1.Data, r.G.Data[2*256:3*256], convTol)
	assertClose(t, enc.String()+" image 2 alone: δx", dx1.Data, r.dx.Data[2*64:3*64], convTol)
	assertClose(t, enc.String()+" image 2 alone: logits", z1.Data, r.logits.Data[2*3:3*3], convTol)
}

// checkSeedMatters checks that only Poisson input depends on the
// generator: seed (8, 8) changes G for Poisson input only.
func (r convGradRun) checkSeedMatters(ctx context.Context, t *testing.T) {
	G3, _, _, err := ConvGradient(ctx, r.net, r.x, r.targets, r.sg, rand.New(rand.NewPCG(8, 8)))
	if err != nil {
		t.Fatal(err)
	}
	if same := slices.Equal(G3.Data, r.G.Data); same != (r.enc == snn.Direct) {
		t.Errorf("%v: another seed gives the same gradient: %v", r.enc, same)
	}
}

func TestConvGradientErrors(t *testing.T) {
	ctx := context.Background()
	net := tinyNet(t, snn.Direct)
	sg := snn.DefaultSurrogate()
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		x       *tensor.Tensor
		targets []int
	}{
		{randImages(2, 1), []int{0, 3}},
		{randImages(2, 1), []int{0}},
		{randImages(2, 1), nil},
		{tensor.New(2, 64), []int{0, 1}},
		{tensor.New(2, 1, 8, 7), []int{0, 1}},
	} {
		if _, _, _, err := ConvGradient(ctx, net, c.x, c.targets, sg, rng); err == nil {
			t.Errorf("images %v, targets %v accepted", c.x.Shape, c.targets)
		}
	}
	if _, _, _, err := ConvGradient(ctx, net, randImages(2, 1), []int{0, 1}, snn.Surrogate{}, rng); err == nil {
		t.Error("zero surrogate accepted")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, _, err := ConvGradient(cancelled, net, randImages(2, 1), []int{0, 1}, sg, rng); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// refSNNGradient transcribes RunSNNGradient's documented algorithm with
// ConvGradient, drawing from rng in the same order; clip false leaves out
// the clip to the pixel range.
func refSNNGradient(t *testing.T, net *snn.Network, norm imageset.Normalization, targets []int, o SNNGradientOptions, rng *rand.Rand, clip bool) *Result {
	t.Helper()
	ctx := context.Background()
	n := len(targets)
	pix := make([]uint8, n*64)
	randomPixels(pix, rng)
	x := tensor.New(n, 1, 8, 8)
	normalize(x.Data, pix, norm)
	lo, hi := norm.Float32Value(0), norm.Float32Value(255)
	for range o.Iterations {
		_, dx, _, err := ConvGradient(ctx, net, x, targets, o.Surrogate, rng)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range x.Data {
			v += float32(o.Step) * dx.Data[i]
			if clip {
				v = max(lo, min(hi, v))
			}
			x.Data[i] = v
		}
		if o.Quantize {
			quantize(pix, x.Data, norm)
			normalize(x.Data, pix, norm)
		}
	}
	quantize(pix, x.Data, norm)
	img := tensor.New(n, 1, 8, 8)
	normalize(img.Data, pix, norm)
	r, err := net.Run(ctx, img, rng, snn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{Pixels: pix, Images: img, Logits: r.Logits(), Loss: make([]float64, n)}
	for i, c := range targets {
		res.Loss[i] = -float64(res.Logits.Data[i*3+c]) / float64(net.Config.Timesteps)
	}
	return res
}

// snnStep moves pixels by a few grey levels per step: the tiny SNN's |δx|
// averages 0.012 to 0.016 on random images (1.5 to 2 grey levels of the
// 0.5/0.5 normalisation at step 1) and peaks near 0.1.
const snnStep = 1

// narrowNorm maps pixels onto [−0.5, 0.5]: the clip to the pixel range is
// then visible in a Direct-input network's gradients (inputs outside it
// change the currents), unlike for [−1, 1] where the final quantisation
// would hide it.
var narrowNorm = imageset.Normalization{Mean: 0.5, Std: 1}

func TestRunSNNGradientMatchesReference(t *testing.T) {
	targets := []int{0, 1, 2}
	for _, enc := range []snn.Encoder{snn.Poisson, snn.Direct} {
		net := tinyNet(t, enc)
		for _, norm := range []imageset.Normalization{stdNorm, narrowNorm} {
			for _, q := range []bool{false, true} {
				o := SNNGradientOptions{Iterations: 3, Step: snnStep, Quantize: q, Surrogate: snn.DefaultSurrogate()}
				res, err := RunSNNGradient(context.Background(), net, norm, targets, o, rand.New(rand.NewPCG(12, 13)), nil)
				if err != nil {
					t.Fatal(err)
				}
				want := refSNNGradient(t, net, norm, targets, o, rand.New(rand.NewPCG(12, 13)), true)
				name := enc.String() + " " + map[bool]string{false: "real", true: "quantised"}[q]
				if res.Method != SNNGradient || res.Shape != [4]int{3, 1, 8, 8} || !slices.Equal(res.Targets, targets) {
					t.Fatalf("%s: method %v shape %v targets %v", name, res.Method, res.Shape, res.Targets)
				}
				if !slices.Equal(res.Pixels, want.Pixels) {
					t.Errorf("%s %+v: pixels differ from the reference", name, norm)
				}
				if !slices.Equal(res.Images.Data, want.Images.Data) {
					t.Errorf("%s %+v: Images are not the normalised pixels", name, norm)
				}
				if !tensor.SameShape(res.Logits.Shape, []int{3, 3}) || !slices.Equal(res.Logits.Data, want.Logits.Data) {
					t.Errorf("%s %+v: logits %v, a fresh simulation of the final images gives %v", name, norm, res.Logits.Data, want.Logits.Data)
				}
				if !slices.Equal(res.Loss, want.Loss) {
					t.Errorf("%s %+v: loss %v, want −S_c/T = %v", name, norm, res.Loss, want.Loss)
				}
				moved := 0
				init := initialPixels(3, 12, 13)
				for i, p := range res.Pixels {
					if p != init[i] {
						moved++
					}
				}
				if moved < len(init)/4 {
					t.Errorf("%s %+v: only %d of %d pixels moved", name, norm, moved, len(init))
				}
			}
		}
	}
	// The reference's clip matters here, so the comparison above checks it.
	net := tinyNet(t, snn.Direct)
	o := SNNGradientOptions{Iterations: 3, Step: 20, Surrogate: snn.DefaultSurrogate()}
	a := refSNNGradient(t, net, narrowNorm, targets, o, rand.New(rand.NewPCG(12, 13)), true)
	b := refSNNGradient(t, net, narrowNorm, targets, o, rand.New(rand.NewPCG(12, 13)), false)
	if slices.Equal(a.Pixels, b.Pixels) {
		t.Fatal("clipping to the pixel range changes nothing: the test cannot see it")
	}
	res, err := RunSNNGradient(context.Background(), net, narrowNorm, targets, o, rand.New(rand.NewPCG(12, 13)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Pixels, a.Pixels) {
		t.Error("large steps: pixels differ from the clipped reference")
	}
}

func TestRunSNNGradientSeeds(t *testing.T) {
	net := tinyNet(t, snn.Poisson)
	o := SNNGradientOptions{Iterations: 2, Step: snnStep, Surrogate: snn.DefaultSurrogate()}
	run := func(s uint64) *Result {
		res, err := RunSNNGradient(context.Background(), net, stdNorm, []int{2, 0}, o, rand.New(rand.NewPCG(s, 1)), nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a.Pixels, b.Pixels) || !slices.Equal(a.Logits.Data, b.Logits.Data) || !slices.Equal(a.Loss, b.Loss) {
		t.Error("same seed, different results")
	}
	if slices.Equal(a.Pixels, c.Pixels) {
		t.Error("another seed gives the same images")
	}
	// The quantised variant differs: sub-grey-level updates are lost.
	o.Quantize = true
	q, err := RunSNNGradient(context.Background(), net, stdNorm, []int{2, 0}, o, rand.New(rand.NewPCG(1, 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(q.Pixels, a.Pixels) {
		t.Error("Quantize changes nothing")
	}
}

func TestRunSNNGradientErrors(t *testing.T) {
	ctx := context.Background()
	net := tinyNet(t, snn.Poisson)
	good := SNNGradientOptions{Iterations: 3, Step: 0.1, Surrogate: snn.DefaultSurrogate()}
	if err := DefaultSNNGradient().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	for _, o := range []SNNGradientOptions{
		{Iterations: 0, Step: 1, Surrogate: good.Surrogate}, {Iterations: MaxIterations + 1, Step: 1, Surrogate: good.Surrogate},
		{Iterations: 1, Step: 0, Surrogate: good.Surrogate}, {Iterations: 1, Step: -1, Surrogate: good.Surrogate},
		{Iterations: 1, Step: math.NaN(), Surrogate: good.Surrogate}, {Iterations: 1, Step: math.Inf(1), Surrogate: good.Surrogate},
		{Iterations: 1, Step: 1}, // zero surrogate
	} {
		if o.Validate() == nil {
			t.Errorf("%+v validates", o)
		}
		if res, err := RunSNNGradient(ctx, net, stdNorm, []int{0}, o, rand.New(rand.NewPCG(1, 1)), nil); err == nil || res != nil {
			t.Errorf("%+v: %v, %v", o, res, err)
		}
	}
	if _, err := RunSNNGradient(ctx, net, imageset.Normalization{Std: -1}, []int{0}, good, rand.New(rand.NewPCG(1, 1)), nil); err == nil {
		t.Error("negative std accepted")
	}
	if _, err := RunSNNGradient(ctx, net, stdNorm, []int{0, 3}, good, rand.New(rand.NewPCG(1, 1)), nil); err == nil {
		t.Error("target 3 of 3 classes accepted")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := RunSNNGradient(cancelled, net, stdNorm, []int{0}, good, rand.New(rand.NewPCG(1, 1)), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	var calls [][2]int
	stop := errors.New("stop")
	_, err := RunSNNGradient(ctx, net, stdNorm, []int{0, 1}, good, rand.New(rand.NewPCG(1, 1)), func(r progress.Report) error {
		calls = append(calls, [2]int{r.Done, r.Total})
		if r.Done == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !slices.Equal(calls, [][2]int{{1, 3}, {2, 3}}) {
		t.Errorf("progress error: %v after calls %v", err, calls)
	}
}

// midGrey returns n images within 0.3 of mid-grey (0 for stdNorm): far
// enough from the bounds ±1 that a step of a few grey levels never clips.
func midGrey(n int, seed uint64) *tensor.Tensor {
	x := randImages(n, seed)
	for i := range x.Data {
		x.Data[i] *= 0.3
	}
	return x
}

// convDX returns ConvGradient's δx for x on a Direct network (whose
// simulation draws nothing it uses from the generator).
func convDX(t *testing.T, net *snn.Network, x *tensor.Tensor, targets []int) []float32 {
	t.Helper()
	_, dx, _, err := ConvGradient(context.Background(), net, x, targets, snn.DefaultSurrogate(), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return dx.Data
}

// With Accumulate, the second update adds ζ·(δx₁ + δx₂), δx₁ taken at the
// start and δx₂ after the first update; without it, ζ·δx₂ alone. A Direct
// network makes every simulation deterministic, and the literal rule from
// near mid-grey never clips, so both are exact float32 expressions.
func TestSNNGradientAccumulates(t *testing.T) {
	ctx := context.Background()
	net := tinyNet(t, snn.Direct)
	targets := []int{0, 1, 2}
	for _, acc := range []bool{true, false} {
		o := SNNGradientOptions{Iterations: 1, Step: 0.5, Accumulate: acc, StepRule: LiteralStep, Surrogate: snn.DefaultSurrogate()}
		x0 := midGrey(3, 41)
		x1 := x0.Clone()
		if err := snnGradientLoop(ctx, net, stdNorm, x1, targets, o, rand.New(rand.NewPCG(2, 2)), nil); err != nil {
			t.Fatal(err)
		}
		o.Iterations = 2
		x2 := x0.Clone()
		if err := snnGradientLoop(ctx, net, stdNorm, x2, targets, o, rand.New(rand.NewPCG(2, 2)), nil); err != nil {
			t.Fatal(err)
		}
		d1, d2 := convDX(t, net, x0, targets), convDX(t, net, x1, targets)
		if slices.Equal(d1, d2) || nonZero(d1) < len(d1)/4 || nonZero(d2) < len(d2)/4 {
			t.Fatalf("accumulate %v: δx₁ and δx₂ equal or mostly zero: the check is vacuous", acc)
		}
		step := float32(o.Step)
		for i := range x0.Data {
			if want := x0.Data[i] + step*d1[i]; x1.Data[i] != want {
				t.Fatalf("accumulate %v: first update x[%d] = %g, want x + ζ·δx₁ = %g", acc, i, x1.Data[i], want)
			}
			d := d2[i]
			if acc {
				d = d1[i] + d2[i]
			}
			if want := x1.Data[i] + step*d; x2.Data[i] != want {
				t.Fatalf("accumulate %v: second update x[%d] = %g, want %g", acc, i, x2.Data[i], want)
			}
			if math.Abs(float64(x2.Data[i])) > 0.99 {
				t.Fatalf("accumulate %v: x[%d] = %g reached the bound: the test needs smaller steps", acc, i, x2.Data[i])
			}
		}
	}
}

// The grey rule's first step changes every image by ζ grey levels of
// root-mean-square, 1/(255·Std) normalised units each, along δx.
func TestSNNGradientGreyStep(t *testing.T) {
	ctx := context.Background()
	net := tinyNet(t, snn.Direct)
	targets := []int{0, 1, 2, 1}
	for _, norm := range []imageset.Normalization{stdNorm, narrowNorm} {
		for _, zeta := range []float64{1, 4} {
			o := SNNGradientOptions{Iterations: 1, Step: zeta, Accumulate: true, StepRule: GreyStep, Surrogate: snn.DefaultSurrogate()}
			x0 := midGrey(4, 43)
			lo, hi := pixelRange(norm)
			for i, v := range x0.Data {
				x0.Data[i] = v * (hi - lo) / 2 // within 0.3 of the range's half-width of mid-grey
			}
			x1 := x0.Clone()
			if err := snnGradientLoop(ctx, net, norm, x1, targets, o, rand.New(rand.NewPCG(3, 3)), nil); err != nil {
				t.Fatal(err)
			}
			d := convDX(t, net, x0, targets)
			grey := 1 / (255 * norm.Std)
			for i := range targets {
				var ss, dd, cross float64
				for j := i * 64; j < (i+1)*64; j++ {
					c := float64(x1.Data[j]) - float64(x0.Data[j])
					ss += c * c
					dd += float64(d[j]) * float64(d[j])
					cross += c * float64(d[j])
					if x1.Data[j] == lo || x1.Data[j] == hi {
						t.Fatalf("%+v ζ %g: pixel %d clipped", norm, zeta, j)
					}
				}
				if dd == 0 {
					t.Fatalf("image %d: zero δx: the check is vacuous", i)
				}
				// float32 images near 0.3 round each change by ≤ 3e-8, about
				// 1e-5 of a change of 1 grey level (≥ 0.0039): 1e-4 relative
				// leaves margin, while a wrong scale is off by a factor.
				rms := math.Sqrt(ss / 64)
				if want := zeta * grey; math.Abs(rms-want) > 1e-4*want {
					t.Errorf("%+v ζ %g image %d: RMS change %g, want %g", norm, zeta, i, rms, want)
				}
				if cos := cross / math.Sqrt(ss*dd); cos < 1-1e-6 {
					t.Errorf("%+v ζ %g image %d: change not along δx (cosine %g)", norm, zeta, i, cos)
				}
			}
		}
	}
}

// An image whose δx is all zero does not move under the grey rule; the
// others move by ζ grey levels.
func TestStepImagesZeroGradient(t *testing.T) {
	x := []float32{0.1, -0.2, 0.3, 0.4, 0, 0, 0, 0}
	d := []float32{0, 0, 0, 0, 1, -1, 1, -1}
	o := SNNGradientOptions{Step: 3, StepRule: GreyStep}
	stepImages(x, d, 2, o, stdNorm)
	if !slices.Equal(x[:4], []float32{0.1, -0.2, 0.3, 0.4}) {
		t.Errorf("image with zero δx moved to %v", x[:4])
	}
	g := float32(3 / 127.5) // rms(d) = 1
	if want := []float32{g, -g, g, -g}; !slices.Equal(x[4:], want) {
		t.Errorf("image with δx = ±1 became %v, want %v", x[4:], want)
	}
}

// LiteralSNNGradient is the old literal reading: the documented algorithm
// without accumulation, ζ·δx steps.
func TestLiteralSNNGradient(t *testing.T) {
	o := LiteralSNNGradient()
	if o.Iterations != 150 || o.Step != 0.01 || o.Accumulate || o.StepRule != LiteralStep || o.Validate() != nil {
		t.Fatalf("LiteralSNNGradient() = %+v", o)
	}
	net := tinyNet(t, snn.Poisson)
	targets := []int{2, 0, 1}
	o.Iterations, o.Step = 3, snnStep
	res, err := RunSNNGradient(context.Background(), net, stdNorm, targets, o, rand.New(rand.NewPCG(21, 22)), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := refSNNGradient(t, net, stdNorm, targets, o, rand.New(rand.NewPCG(21, 22)), true)
	if !slices.Equal(res.Pixels, want.Pixels) || !slices.Equal(res.Loss, want.Loss) {
		t.Error("the literal settings differ from the reference transcription")
	}
	d := DefaultSNNGradient()
	if !d.Accumulate || d.StepRule != GreyStep || d.Validate() != nil {
		t.Errorf("DefaultSNNGradient() = %+v, want the accumulating grey rule", d)
	}
	d.Iterations = 3
	grey, err := RunSNNGradient(context.Background(), net, stdNorm, targets, d, rand.New(rand.NewPCG(21, 22)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(grey.Pixels, res.Pixels) {
		t.Error("the default rule gives the literal rule's images")
	}
}

func TestStepRuleText(t *testing.T) {
	for r, name := range map[StepRule]string{LiteralStep: "literal", GreyStep: "grey"} {
		b, err := r.MarshalText()
		if err != nil || string(b) != name || r.String() != name {
			t.Errorf("%d: MarshalText %q, %v; String %q; want %q", int(r), b, err, r.String(), name)
		}
		var got StepRule
		if err := got.UnmarshalText(b); err != nil || got != r {
			t.Errorf("round trip of %q: %v, %v", b, got, err)
		}
	}
	var gray StepRule
	if err := gray.UnmarshalText([]byte("gray")); err != nil || gray != GreyStep {
		t.Errorf("gray: %v, %v", gray, err)
	}
	for _, r := range []StepRule{-1, 2} {
		if b, err := r.MarshalText(); err == nil {
			t.Errorf("StepRule(%d).MarshalText = %q, want an error", int(r), b)
		}
	}
	if s := StepRule(7).String(); s != "StepRule(7)" {
		t.Errorf("StepRule(7).String() = %q", s)
	}
	for _, s := range []string{"", "Grey", "rms", "0", "1"} {
		r := GreyStep
		if err := r.UnmarshalText([]byte(s)); err == nil || r != GreyStep {
			t.Errorf("UnmarshalText(%q): %v, %v; want an error and no change", s, r, err)
		}
	}
	o := DefaultSNNGradient()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var back SNNGradientOptions
	if err := json.Unmarshal(b, &back); err != nil || back != o {
		t.Errorf("JSON %s came back as %+v, %v", b, back, err)
	}
	if !strings.Contains(string(b), `"step_rule":"grey"`) || !strings.Contains(string(b), `"accumulate":true`) {
		t.Errorf("JSON %s lacks the step rule or accumulation", b)
	}
	for _, r := range []StepRule{-1, 2} {
		o := DefaultSNNGradient()
		o.StepRule = r
		if o.Validate() == nil {
			t.Errorf("step rule %d validates", int(r))
		}
	}
}
