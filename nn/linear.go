package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/tensor"
)

// Linear is a fully connected layer without bias: y = x·Wᵀ for x [N, In],
// W [Out, In], y [N, Out].
type Linear struct {
	In, Out int
	Weight  *Param // [Out, In]

	x *tensor.Tensor
}

// NewLinear returns a linear layer with zero weights.
func NewLinear(in, out int) *Linear {
	if in < 1 || out < 1 {
		panic(fmt.Sprintf("nn: invalid Linear(%d, %d)", in, out))
	}
	return &Linear{In: in, Out: out, Weight: newParam(out, in)}
}

// InitKaiming draws weights from N(0, 2/In).
func (l *Linear) InitKaiming(rng *rand.Rand) {
	l.Weight.W.RandNormal(rng, math.Sqrt(2/float64(l.In)))
}

// Params implements Layer.
func (l *Linear) Params() []*Param { return []*Param{l.Weight} }

// Forward implements Layer.
func (l *Linear) Forward(x *tensor.Tensor, _ Mode) *tensor.Tensor {
	if len(x.Shape) != 2 || x.Shape[1] != l.In {
		panic(fmt.Sprintf("nn: Linear(%d→%d) got input %v", l.In, l.Out, x.Shape))
	}
	n := x.Shape[0]
	y := tensor.New(n, l.Out)
	gemm.Sgemm(false, true, n, l.Out, l.In, 1, x.Data, l.In, l.Weight.W.Data, l.In, 0, y.Data, l.Out)
	l.x = x
	return y
}

// Backward implements Layer.
func (l *Linear) Backward(dy *tensor.Tensor, g Grad, needInput bool) *tensor.Tensor {
	if l.x == nil {
		panic("nn: Linear.Backward before Forward")
	}
	n := l.x.Shape[0]
	if !tensor.SameShape(dy.Shape, []int{n, l.Out}) {
		panic(fmt.Sprintf("nn: Linear.Backward got dy %v, want [%d %d]", dy.Shape, n, l.Out))
	}
	if g.Weights {
		gemm.Sgemm(true, false, l.Out, l.In, n, 1, dy.Data, l.Out, l.x.Data, l.In, 1, l.Weight.G.Data, l.In)
	}
	if !needInput {
		return nil
	}
	dx := tensor.New(n, l.In)
	gemm.Sgemm(false, false, n, l.In, l.Out, 1, dy.Data, l.Out, l.Weight.W.Data, l.In, 0, dx.Data, l.In)
	return dx
}
