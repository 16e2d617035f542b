package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/internal/dnnl"
)

type convCase struct{ cin, cout, n, h, w, k, pad int }

var convCases = []convCase{
	{1, 8, 3, 28, 28, 3, 1}, {1, 4, 2, 7, 5, 3, 1}, {3, 5, 2, 9, 7, 3, 1}, {5, 7, 3, 11, 13, 3, 0},
	{4, 6, 2, 5, 5, 1, 0}, {17, 33, 2, 6, 7, 3, 1}, {16, 16, 1, 8, 8, 5, 2}, {32, 32, 16, 28, 28, 3, 1},
	{64, 64, 8, 14, 14, 3, 1}, {1, 6, 2, 9, 11, 5, 2}, {16, 8, 2, 5, 7, 1, 0}, {2, 3, 2, 6, 5, 3, 1},
}

// relClose fails unless max|got−want| ≤ tol·max|want|.
func relClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	var scale, worst float64
	at := 0
	for i := range want {
		scale = math.Max(scale, math.Abs(float64(want[i])))
		if d := math.Abs(float64(got[i] - want[i])); d > worst {
			worst, at = d, i
		}
	}
	if worst > tol*math.Max(scale, 1e-30) {
		t.Fatalf("%s: element %d is %g, want %g (max |want| %g, rel err %.2g)", what, at, got[at], want[at], scale, worst/scale)
	}
}

// TestConvFastMatchesIm2col checks that the oneDNN path and the im2col
// reference agree on the output, the input gradient and the (accumulated)
// weight gradient, in training and inference mode. (Shapes with
// InC·K·K ≤ smallRows use im2col on both sides.)
func TestConvFastMatchesIm2col(t *testing.T) {
	if !dnnl.Available() {
		t.Skip(ConvBackend())
	}
	t.Log(ConvBackend())
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range convCases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			fast, ref := NewConv2D(c.cin, c.cout, c.k, c.pad), NewConv2D(c.cin, c.cout, c.k, c.pad)
			fast.InitKaiming(rng)
			copy(ref.Weight.W.Data, fast.Weight.W.Data)
			ref.fast.off = true
			g0 := randTensor(rng, c.cout, c.cin, c.k, c.k) // gradients accumulate onto this
			for _, train := range []bool{true, false} {
				x := randTensor(rng, c.cin, c.n, c.h, c.w)
				yf, yr := fast.Forward(x, Mode{Train: train}), ref.Forward(x, Mode{Train: train})
				if want := c.cin*c.k*c.k > smallRows; (fast.fast.last != nil) != want {
					t.Fatalf("oneDNN ran: %v, want %v", fast.fast.last != nil, want)
				}
				relClose(t, "y", yf.Data, yr.Data, 1e-5)
				dy := randTensor(rng, yr.Shape...)
				copy(fast.Weight.G.Data, g0.Data)
				copy(ref.Weight.G.Data, g0.Data)
				dxf := fast.Backward(dy, Grad{Weights: true}, true)
				dxr := ref.Backward(dy, Grad{Weights: true}, true)
				relClose(t, "dx", dxf.Data, dxr.Data, 1e-5)
				relClose(t, "dW", fast.Weight.G.Data, ref.Weight.G.Data, 1e-5)
				// Input gradient only, then weight gradient only.
				dxf = fast.Backward(dy, Grad{Input: true}, true)
				relClose(t, "dx (input only)", dxf.Data, dxr.Data, 1e-5)
				clear(fast.Weight.G.Data)
				clear(ref.Weight.G.Data)
				if d := fast.Backward(dy, Grad{Weights: true}, false); d != nil {
					t.Fatal("dx returned although not needed")
				}
				ref.Backward(dy, Grad{Weights: true}, false)
				relClose(t, "dW (weights only)", fast.Weight.G.Data, ref.Weight.G.Data, 1e-5)
			}
		})
	}
}

// TestConvFastDeterministic checks that repeated steps give identical bits.
func TestConvFastDeterministic(t *testing.T) {
	if !dnnl.Available() {
		t.Skip(ConvBackend())
	}
	rng := rand.New(rand.NewPCG(13, 14))
	conv := NewConv2D(32, 32, 3, 1)
	conv.InitKaiming(rng)
	x := randTensor(rng, 32, 8, 28, 28)
	dy := randTensor(rng, 32, 8, 28, 28)
	run := func() (y, dx, dw []float32) {
		conv.Weight.G.Zero()
		y = conv.Forward(x, Mode{Train: true}).Data
		dx = conv.Backward(dy, Grad{Weights: true}, true).Data
		return y, dx, slices.Clone(conv.Weight.G.Data)
	}
	y1, dx1, dw1 := run()
	for range 3 {
		y2, dx2, dw2 := run()
		if !slices.Equal(y1, y2) || !slices.Equal(dx1, dx2) || !slices.Equal(dw1, dw2) {
			t.Fatal("results differ between identical runs")
		}
	}
}

// TestConvShapeCache alternates batch sizes, as training with a short last
// batch and evaluation do, beyond the number of cached shapes.
func TestConvShapeCache(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	fast, ref := NewConv2D(3, 4, 3, 1), NewConv2D(3, 4, 3, 1)
	fast.InitKaiming(rng)
	copy(ref.Weight.W.Data, fast.Weight.W.Data)
	ref.fast.off = true
	for _, n := range []int{4, 1, 2, 3, 5, 6, 4, 1, 7} {
		x := randTensor(rng, 3, n, 6, 5)
		relClose(t, fmt.Sprintf("y n=%d", n), fast.Forward(x, Mode{Train: true}).Data, ref.Forward(x, Mode{Train: true}).Data, 1e-5)
		dy := randTensor(rng, 4, n, 6, 5)
		relClose(t, fmt.Sprintf("dx n=%d", n), fast.Backward(dy, Grad{}, true).Data, ref.Backward(dy, Grad{}, true).Data, 1e-5)
	}
	if len(fast.fast.convs) > maxFastShapes {
		t.Fatalf("%d cached shapes, limit %d", len(fast.fast.convs), maxFastShapes)
	}
}

// TestGradConv2DIm2col runs the finite-difference check on the im2col path
// (TestGradConv2D covers whichever backend is the default).
func TestGradConv2DIm2col(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []convCase{{1, 2, 2, 5, 5, 3, 1}, {3, 4, 2, 4, 6, 3, 1}, {2, 3, 1, 5, 4, 3, 0}, {2, 2, 3, 3, 3, 1, 0}} {
		conv := NewConv2D(c.cin, c.cout, c.k, c.pad)
		conv.InitKaiming(rng)
		conv.fast.off = true
		x := randTensor(rng, c.cin, c.n, c.h, c.w)
		checkGrad(t, fmt.Sprintf("im2col conv%+v", c), conv, x, func() Mode { return Mode{Train: true} })
	}
}
