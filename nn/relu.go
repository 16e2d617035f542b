package nn

import (
	"github.com/privatesnn/privatesnn/internal/parallel"
	"github.com/privatesnn/privatesnn/tensor"
)

// ReLU is max(0, x), element-wise.
type ReLU struct {
	y, dx *tensor.Tensor
}

// Params implements Layer.
func (*ReLU) Params() []*Param { return nil }

// Forward implements Layer.
func (r *ReLU) Forward(x *tensor.Tensor, _ Mode) *tensor.Tensor {
	y := reuse(r.y, x.Shape)
	parallel.For(len(x.Data), len(x.Data), func(lo, hi int) {
		src, dst := x.Data[lo:hi], y.Data[lo:hi]
		for i, v := range src {
			dst[i] = max(v, 0)
		}
	})
	r.y = y
	return y
}

// Backward implements Layer. The derivative at 0 is taken as 0, as in PyTorch.
func (r *ReLU) Backward(dy *tensor.Tensor, _ Grad, _ bool) *tensor.Tensor {
	if r.y == nil {
		panic("nn: ReLU.Backward before Forward")
	}
	r.dx = reuse(r.dx, dy.Shape)
	dx := r.dx
	parallel.For(len(dy.Data), len(dy.Data), func(lo, hi int) {
		y, g, d := r.y.Data[lo:hi], dy.Data[lo:hi], dx.Data[lo:hi]
		for i, v := range y {
			if v > 0 {
				d[i] = g[i]
			} else {
				d[i] = 0
			}
		}
	})
	return dx
}
