package nn

import (
	"math"
	"testing"

	"github.com/privatesnn/privatesnn/safetensors"
	"github.com/privatesnn/privatesnn/tensor"
)

// goldenTol is the agreement required with PyTorch's outputs, relative to
// the largest magnitude of the reference tensor: float32 results of the
// same sums in different orders (im2col+OpenBLAS vs PyTorch's kernels)
// differ by a few ulps of the partial sums, far below 1e-4.
const goldenTol = 1e-4

func loadGolden(t *testing.T) *safetensors.File {
	t.Helper()
	f, err := safetensors.ReadFile("../testdata/torch/golden_ops.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func golden(t *testing.T, f *safetensors.File, name string) *tensor.Tensor {
	t.Helper()
	g, ok := f.Get(name)
	if !ok {
		t.Fatalf("golden file lacks %s", name)
	}
	return tensor.FromData(append([]float32(nil), g.Data...), g.Shape...)
}

func assertClose(t *testing.T, what string, got, want *tensor.Tensor) {
	t.Helper()
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Fatalf("%s: shape %v, PyTorch %v", what, got.Shape, want.Shape)
	}
	scale := float64(want.MaxAbs())
	for i := range want.Data {
		if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > goldenTol*scale {
			t.Fatalf("%s[%d]: %g, PyTorch %g (|diff| %g > %g)", what, i, got.Data[i], want.Data[i], d, goldenTol*scale)
		}
	}
}

func TestGoldenConv(t *testing.T) {
	f := loadGolden(t)
	for _, c := range []string{"conv1", "conv2", "conv3"} {
		w := golden(t, f, c+".w")
		conv := NewConv2D(w.Shape[1], w.Shape[0], 3, 1)
		copy(conv.Weight.W.Data, w.Data)
		x := golden(t, f, c+".x")
		// The layer works in CNHW: convert in and out.
		y := ToCNHW{}.Forward(conv.Forward(ToCNHW{}.Forward(x, Mode{}), Mode{Train: true}), Mode{})
		assertClose(t, c+".y", y, golden(t, f, c+".y"))
		dx := conv.Backward(ToCNHW{}.Forward(golden(t, f, c+".dy"), Mode{}), Grad{Weights: true, Input: true}, true)
		assertClose(t, c+".dx", ToCNHW{}.Forward(dx, Mode{}), golden(t, f, c+".dx"))
		assertClose(t, c+".dw", conv.Weight.G, golden(t, f, c+".dw"))
	}
}

func TestGoldenLinear(t *testing.T) {
	f := loadGolden(t)
	w := golden(t, f, "linear.w")
	l := NewLinear(w.Shape[1], w.Shape[0])
	copy(l.Weight.W.Data, w.Data)
	assertClose(t, "linear.y", l.Forward(golden(t, f, "linear.x"), Mode{}), golden(t, f, "linear.y"))
	dx := l.Backward(golden(t, f, "linear.dy"), Grad{Weights: true, Input: true}, true)
	assertClose(t, "linear.dx", dx, golden(t, f, "linear.dx"))
	assertClose(t, "linear.dw", l.Weight.G, golden(t, f, "linear.dw"))
}

func TestGoldenPool(t *testing.T) {
	f := loadGolden(t)
	for _, c := range []string{"pool1", "pool2"} {
		p := &AvgPool2{}
		assertClose(t, c+".y", p.Forward(golden(t, f, c+".x"), Mode{}), golden(t, f, c+".y"))
		assertClose(t, c+".dx", p.Backward(golden(t, f, c+".dy"), Grad{Input: true}, true), golden(t, f, c+".dx"))
	}
}
