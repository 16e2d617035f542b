package nn

import (
	"fmt"

	"github.com/privatesnn/privatesnn/internal/parallel"
	"github.com/privatesnn/privatesnn/tensor"
)

// transpose01 swaps the first two axes of a rank-4 tensor [A, B, H, W] → [B, A, H, W].
func transpose01(x *tensor.Tensor) *tensor.Tensor {
	a, b, hw := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	y := tensor.New(b, a, x.Shape[2], x.Shape[3])
	if a == 1 || b == 1 {
		copy(y.Data, x.Data)
		return y
	}
	parallel.For(a, len(x.Data), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for j := range b {
				copy(y.Data[(j*a+i)*hw:(j*a+i+1)*hw], x.Data[(i*b+j)*hw:(i*b+j+1)*hw])
			}
		}
	})
	return y
}

// ToCNHW converts an NCHW batch to the CNHW layout used by Conv2D.
type ToCNHW struct{}

// Params implements Layer.
func (ToCNHW) Params() []*Param { return nil }

// Forward implements Layer.
func (ToCNHW) Forward(x *tensor.Tensor, _ Mode) *tensor.Tensor {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("nn: ToCNHW got %v, want [N, C, H, W]", x.Shape))
	}
	return transpose01(x)
}

// Backward implements Layer.
func (ToCNHW) Backward(dy *tensor.Tensor, _ Grad, needInput bool) *tensor.Tensor {
	if !needInput {
		return nil
	}
	return transpose01(dy)
}

// Flatten turns a CNHW tensor [C, N, H, W] into rows [N, C·H·W] in
// PyTorch's (c, h, w) order.
type Flatten struct {
	in []int
}

// Params implements Layer.
func (*Flatten) Params() []*Param { return nil }

// Forward implements Layer.
func (f *Flatten) Forward(x *tensor.Tensor, _ Mode) *tensor.Tensor {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("nn: Flatten got %v, want [C, N, H, W]", x.Shape))
	}
	f.in = append(f.in[:0], x.Shape...)
	c, n, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	return transpose01(x).Reshape(n, c*h*w)
}

// Backward implements Layer.
func (f *Flatten) Backward(dy *tensor.Tensor, _ Grad, needInput bool) *tensor.Tensor {
	if f.in == nil {
		panic("nn: Flatten.Backward before Forward")
	}
	if !needInput {
		return nil
	}
	c, n, h, w := f.in[0], f.in[1], f.in[2], f.in[3]
	return transpose01(dy.Reshape(n, c, h, w))
}
