package nn

import (
	"fmt"

	"github.com/privatesnn/privatesnn/internal/parallel"
	"github.com/privatesnn/privatesnn/tensor"
)

// AvgPool2 is 2×2 average pooling with stride 2 over the last two axes of a
// rank-4 tensor (layout-agnostic: NCHW or CNHW). Odd trailing rows and
// columns are dropped, as PyTorch's floor mode does.
type AvgPool2 struct {
	in    []int
	y, dx *tensor.Tensor
}

// Params implements Layer.
func (*AvgPool2) Params() []*Param { return nil }

// Forward implements Layer.
func (p *AvgPool2) Forward(x *tensor.Tensor, _ Mode) *tensor.Tensor {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("nn: AvgPool2 got input %v, want rank 4", x.Shape))
	}
	a, b, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := h/2, w/2
	p.y = reuse(p.y, []int{a, b, oh, ow})
	y := p.y
	p.in = append(p.in[:0], x.Shape...)
	parallel.For(a*b, len(x.Data), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := x.Data[pl*h*w : (pl+1)*h*w]
			dst := y.Data[pl*oh*ow : (pl+1)*oh*ow]
			for i := range oh {
				r0, r1 := src[2*i*w:], src[(2*i+1)*w:]
				for j := range ow {
					dst[i*ow+j] = 0.25 * (r0[2*j] + r0[2*j+1] + r1[2*j] + r1[2*j+1])
				}
			}
		}
	})
	return y
}

// Backward implements Layer.
func (p *AvgPool2) Backward(dy *tensor.Tensor, _ Grad, needInput bool) *tensor.Tensor {
	if p.in == nil {
		panic("nn: AvgPool2.Backward before Forward")
	}
	if !needInput {
		return nil
	}
	a, b, h, w := p.in[0], p.in[1], p.in[2], p.in[3]
	oh, ow := h/2, w/2
	if !tensor.SameShape(dy.Shape, []int{a, b, oh, ow}) {
		panic(fmt.Sprintf("nn: AvgPool2.Backward got dy %v", dy.Shape))
	}
	p.dx = reuse(p.dx, p.in)
	dx := p.dx
	if h%2 != 0 || w%2 != 0 {
		dx.Zero() // the dropped trailing row/column gets no gradient
	}
	parallel.For(a*b, len(dx.Data), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := dy.Data[pl*oh*ow : (pl+1)*oh*ow]
			dst := dx.Data[pl*h*w : (pl+1)*h*w]
			for i := range oh {
				r0, r1 := dst[2*i*w:], dst[(2*i+1)*w:]
				for j := range ow {
					g := 0.25 * src[i*ow+j]
					r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1] = g, g, g, g
				}
			}
		}
	})
	return dx
}
