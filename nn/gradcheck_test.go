package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

// Finite-difference settings. Layers compute in float32, so the central
// difference uses a step of 1e-2 (truncation error O(h²) is 0 for these
// piecewise-linear layers away from kinks) and compares with a relative
// tolerance of 2e-2 of the largest gradient magnitude, which float32
// rounding of sums over ~10³ terms stays well inside.
const (
	fdStep = 1e-2
	fdTol  = 2e-2
)

// checkGrad compares analytic and numeric gradients of L = Σ r⊙f(x) with
// respect to x and every parameter of layer.
func checkGrad(t *testing.T, name string, layer Layer, x *tensor.Tensor, m func() Mode) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	y := layer.Forward(x, m())
	r := tensor.New(y.Shape...)
	r.RandUniform(rng, -1, 1)
	loss := func() float64 {
		out := layer.Forward(x, m())
		var s float64
		for i, v := range out.Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	for _, p := range layer.Params() {
		p.G.Zero()
	}
	layer.Forward(x, m())
	dx := layer.Backward(r, Grad{Weights: true, Input: true}, true)
	compare := func(what string, analytic, values []float32) {
		num := make([]float32, len(values))
		for i := range values {
			old := values[i]
			values[i] = old + fdStep
			lp := loss()
			values[i] = old - fdStep
			lm := loss()
			values[i] = old
			num[i] = float32((lp - lm) / (2 * fdStep))
		}
		var scale float64
		for _, v := range num {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for i := range num {
			if d := math.Abs(float64(num[i] - analytic[i])); d > fdTol*math.Max(scale, 1e-3) {
				t.Fatalf("%s: d%s[%d] analytic %g numeric %g (scale %g)", name, what, i, analytic[i], num[i], scale)
			}
		}
	}
	compare("x", dx.Data, x.Data)
	for _, p := range layer.Params() {
		compare(p.Name+"W", p.G.Data, p.W.Data)
	}
}

func randTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	t.RandUniform(rng, -1, 1)
	return t
}

func TestGradConv2D(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct{ cin, cout, n, h, w, k, pad int }{
		{1, 2, 2, 5, 5, 3, 1}, {3, 4, 2, 4, 6, 3, 1}, {2, 3, 1, 5, 4, 3, 0}, {2, 2, 3, 3, 3, 1, 0},
	} {
		conv := NewConv2D(c.cin, c.cout, c.k, c.pad)
		conv.InitKaiming(rng)
		x := randTensor(rng, c.cin, c.n, c.h, c.w)
		checkGrad(t, fmt.Sprintf("conv%+v", c), conv, x, func() Mode { return Mode{Train: true} })
	}
}

func TestConv2DChunkedMatchesWhole(t *testing.T) {
	// Force chunking by using a batch whose im2col exceeds maxColsElems.
	rng := rand.New(rand.NewPCG(3, 3))
	conv := NewConv2D(64, 4, 3, 1)
	conv.InitKaiming(rng)
	n := maxColsElems/(64*9*16*16) + 2
	x := randTensor(rng, 64, n, 16, 16)
	y := conv.Forward(x, Mode{Train: true})
	for img := range n {
		xi := tensor.New(64, 1, 16, 16)
		for c := range 64 {
			copy(xi.Data[c*256:(c+1)*256], x.Data[(c*n+img)*256:(c*n+img+1)*256])
		}
		yi := conv.Forward(xi, Mode{})
		for c := range 4 {
			for p := range 256 {
				got, want := y.Data[(c*n+img)*256+p], yi.Data[c*256+p]
				if math.Abs(float64(got-want)) > 1e-4 {
					t.Fatalf("image %d channel %d: %g vs %g", img, c, got, want)
				}
			}
		}
	}
}

func TestGradLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	l := NewLinear(7, 5)
	l.InitKaiming(rng)
	checkGrad(t, "linear", l, randTensor(rng, 3, 7), func() Mode { return Mode{} })
}

func TestGradPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	checkGrad(t, "pool even", &AvgPool2{}, randTensor(rng, 2, 3, 4, 6), func() Mode { return Mode{} })
	checkGrad(t, "pool odd", &AvgPool2{}, randTensor(rng, 1, 2, 5, 7), func() Mode { return Mode{} })
}

func TestGradReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	x := randTensor(rng, 2, 3, 4, 4)
	for i, v := range x.Data { // keep inputs away from the kink at 0
		if math.Abs(float64(v)) < 2*fdStep {
			x.Data[i] = 0.5
		}
	}
	checkGrad(t, "relu", &ReLU{}, x, func() Mode { return Mode{} })
}

func TestGradDropoutFixedMask(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	d := NewDropout(0.4)
	x := randTensor(rng, 2, 3, 4, 4)
	d.FixMask(d.SampleMask(x.Len(), rng))
	checkGrad(t, "dropout", d, x, func() Mode { return Mode{Train: true} })
}

func TestGradLayoutAndFlatten(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	checkGrad(t, "tocnhw", ToCNHW{}, randTensor(rng, 2, 3, 2, 2), func() Mode { return Mode{} })
	checkGrad(t, "flatten", &Flatten{}, randTensor(rng, 3, 2, 2, 2), func() Mode { return Mode{} })
}

func TestFlattenOrderMatchesNCHW(t *testing.T) {
	// x NCHW [2,3,2,2] with x[n,c,h,w] = n*1000+c*100+h*10+w; after ToCNHW
	// and Flatten, row n must be x[n] in (c,h,w) order.
	x := tensor.New(2, 3, 2, 2)
	i := 0
	for n := range 2 {
		for c := range 3 {
			for h := range 2 {
				for w := range 2 {
					x.Data[i] = float32(n*1000 + c*100 + h*10 + w)
					i++
				}
			}
		}
	}
	y := (&Flatten{}).Forward(ToCNHW{}.Forward(x, Mode{}), Mode{})
	for k, v := range y.Data {
		if v != x.Data[k] {
			t.Fatalf("element %d: %g want %g", k, v, x.Data[k])
		}
	}
}

func TestDropoutStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	d := NewDropout(0.3)
	m := d.SampleMask(100000, rng)
	var zeros int
	var sum float64
	for _, v := range m {
		if v == 0 {
			zeros++
		}
		sum += float64(v)
	}
	// 100k Bernoulli draws: std of the zero fraction is ~0.0014; 0.01 is 7σ.
	if f := float64(zeros) / 1e5; math.Abs(f-0.3) > 0.01 {
		t.Fatalf("zero fraction %g, want 0.3", f)
	}
	if mean := sum / 1e5; math.Abs(mean-1) > 0.02 {
		t.Fatalf("mask mean %g, want 1 (inverted scaling)", mean)
	}
	// Inference is the identity.
	x := randTensor(rng, 4, 4, 1, 1)
	if y := d.Forward(x, Mode{}); y != x {
		t.Fatal("inference dropout must return its input")
	}
}

// With a fixed mask, an inference Forward is the identity, so its Backward
// must be too: the mask belongs to training-mode passes only.
func TestDropoutFixedMaskInferenceBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	d := NewDropout(0.5)
	x := randTensor(rng, 2, 8, 1, 1)
	d.FixMask(d.SampleMask(x.Len(), rng))
	if y := d.Forward(x, Mode{}); y != x {
		t.Fatal("inference dropout with a fixed mask must return its input")
	}
	dy := randTensor(rng, 2, 8, 1, 1)
	dx := d.Backward(dy, Grad{}, true)
	for i := range dy.Data {
		if dx.Data[i] != dy.Data[i] {
			t.Fatalf("element %d: inference backward gave %g, want %g (mask applied)", i, dx.Data[i], dy.Data[i])
		}
	}
	// A training Forward after it applies the mask again, in both passes.
	d.Forward(x, Mode{Train: true})
	dx = d.Backward(dy, Grad{}, true)
	for i, m := range d.Mask() {
		if dx.Data[i] != dy.Data[i]*m {
			t.Fatalf("element %d: training backward gave %g, want %g", i, dx.Data[i], dy.Data[i]*m)
		}
	}
}
