package nn

import (
	"fmt"
	"math"

	"github.com/privatesnn/privatesnn/internal/parallel"
	"github.com/privatesnn/privatesnn/tensor"
)

// QCFS is the quantisation-clip-floor-shift activation of QCFS conversion
// (Bu et al., ICLR 2022) with L levels and a trainable clip λ:
//
//	y = λ · clip(⌊max(x/λ·L + ½, 0)⌋ / L, 0, 1)
//
// An IF neuron with threshold λ, initial membrane λ/2 and reset by
// subtraction driven by a constant input x emits, averaged over L steps,
// exactly this value, so a network trained with it converts with a small
// error at T near L.
//
// The floor has no useful derivative; Backward passes the gradient
// straight through it, as QCFS trains: ∂y/∂x = 1 and ∂y/∂λ = q − x/λ
// (q = y/λ) where neither clip is active; below, both are 0; above the
// top level, ∂y/∂x = 0 and ∂y/∂λ = 1.
type QCFS struct {
	Levels int
	Clip   *Param // λ, shape [1]

	x, y, dx *tensor.Tensor
	// identity replaces the floor by the identity (tests: the function
	// whose exact gradient Backward computes).
	identity bool
}

// NewQCFS returns a QCFS activation with L levels and clip λ.
func NewQCFS(levels int, clip float32) *QCFS {
	if levels < 1 || !(clip > 0) || math.IsInf(float64(clip), 0) {
		panic(fmt.Sprintf("nn: invalid QCFS(%d, %g)", levels, clip))
	}
	p := newParam(1)
	p.W.Data[0] = clip
	return &QCFS{Levels: levels, Clip: p}
}

// Params implements Layer.
func (q *QCFS) Params() []*Param { return []*Param{q.Clip} }

// level returns the clipped level fraction r = clip(⌊a⌋/L, 0, 1) of x and
// whether each clip was active.
func (q *QCFS) level(x, lam float32) (r float32, low, high bool) {
	L := float32(q.Levels)
	a := x/lam*L + 0.5
	if a < 0 {
		return 0, true, false
	}
	f := a
	if !q.identity {
		f = float32(math.Floor(float64(a)))
	}
	if r = f / L; r > 1 {
		return 1, false, true
	}
	return r, false, false
}

// Forward implements Layer.
func (q *QCFS) Forward(x *tensor.Tensor, _ Mode) *tensor.Tensor {
	y := reuse(q.y, x.Shape)
	lam := q.Clip.W.Data[0]
	parallel.For(len(x.Data), len(x.Data), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r, _, _ := q.level(x.Data[i], lam)
			y.Data[i] = lam * r
		}
	})
	q.x, q.y = x, y
	return y
}

// Backward implements Layer. The clip's gradient is summed in float64.
func (q *QCFS) Backward(dy *tensor.Tensor, g Grad, needInput bool) *tensor.Tensor {
	if q.x == nil {
		panic("nn: QCFS.Backward before Forward")
	}
	q.dx = reuse(q.dx, dy.Shape)
	lam := q.Clip.W.Data[0]
	var dlam float64
	for i, v := range q.x.Data {
		r, low, high := q.level(v, lam)
		switch {
		case low:
			q.dx.Data[i] = 0
		case high:
			q.dx.Data[i] = 0
			dlam += float64(dy.Data[i])
		default:
			q.dx.Data[i] = dy.Data[i]
			dlam += float64(dy.Data[i]) * float64(r-v/lam)
		}
	}
	if g.Weights {
		q.Clip.G.Data[0] += float32(dlam)
	}
	return q.dx
}
