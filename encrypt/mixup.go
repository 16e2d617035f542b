package encrypt

import (
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/tensor"
)

// blend records how mixup formed a batch: image i is λ_i·x_i +
// (1 − λ_i)·x_j with j = B−1−i, and its cross-entropy target is
// λ_i·y_i + (1 − λ_i)·y_j.
type blend struct {
	lam     []float64
	partner []int32 // y_j
}

// mixBatch blends the batch x [B, ...] with labels y in place, drawing
// every λ_i uniformly from [0, 1) from rng.
func mixBatch(x *tensor.Tensor, y []int32, rng *rand.Rand) *blend {
	b := x.Shape[0]
	n := len(x.Data) / b
	src := append([]float32(nil), x.Data...)
	bl := &blend{lam: make([]float64, b), partner: make([]int32, b)}
	for i := range b {
		j := b - 1 - i
		l := rng.Float64()
		bl.lam[i], bl.partner[i] = l, y[j]
		for p := range n {
			x.Data[i*n+p] = float32(l*float64(src[i*n+p]) + (1-l)*float64(src[j*n+p]))
		}
	}
	return bl
}

// rows turns ds, the loss gradient of rows i0..i1 for their own labels
// (LossRows), into the gradient for the blended targets. The gradient is
// linear in the cross-entropy target and the distillation term does not
// depend on it, so it is λ·ds + (1 − λ)·(the gradient for the partners'
// labels).
func (bl *blend) rows(ds, s, teacher []float32, i0, i1, k, n int, kappa, m, tau float64) {
	bl.smoothRows(ds, s, teacher, i0, i1, k, n, kappa, m, tau, 0)
}

// smoothRows is rows with the cross-entropy target smoothed by alpha
// (ds holding the rows' gradient for their own labels smoothed alike):
// the smoothing is affine in the target with weights summing to one, so
// blending the smoothed gradients smooths the blended target.
func (bl *blend) smoothRows(ds, s, teacher []float32, i0, i1, k, n int, kappa, m, tau, alpha float64) {
	d2 := make([]float32, len(ds))
	lossRows(d2, scaled(s, kappa), teacher, bl.partner[i0:i1], k, n, kappa, m, tau, alpha)
	for i := range i1 - i0 {
		l := bl.lam[i0+i]
		for c := range k {
			ds[i*k+c] = float32(l*float64(ds[i*k+c]) + (1-l)*float64(d2[i*k+c]))
		}
	}
}

// values returns the batch's loss for the blended targets, from lv (its
// value for the images' own labels y, whose KD part it keeps) and the
// summed output potentials s [B, k].
func (bl *blend) values(s *tensor.Tensor, y []int32, lv LossValue, kappa, m float64) LossValue {
	return bl.smoothValues(s, y, lv, kappa, m, 0)
}

// smoothValues is values with the blended target smoothed by alpha:
// (1 − α)·(λ·y_i + (1 − λ)·y_j) + α/K.
func (bl *blend) smoothValues(s *tensor.Tensor, y []int32, lv LossValue, kappa, m, alpha float64) LossValue {
	b, k := s.Shape[0], s.Shape[1]
	targets := tensor.New(b, k)
	for i, l := range bl.lam {
		targets.Data[i*k+int(y[i])] += float32(l)
		targets.Data[i*k+int(bl.partner[i])] += float32(1 - l)
	}
	if alpha != 0 {
		for i, t := range targets.Data {
			targets.Data[i] = float32((1-alpha)*float64(t) + alpha/float64(k))
		}
	}
	lv.CE, _ = loss.SoftCrossEntropy(tensor.FromData(scaled(s.Data, kappa), b, k), targets, 1)
	lv.Total = (1-m)*lv.CE + m*lv.KD
	return lv
}

// major returns each image's label of the larger share (its own when
// λ ≥ ½), against which the training accuracy is counted; without a
// blend, y itself.
func (bl *blend) major(y []int32) []int32 {
	if bl == nil {
		return y
	}
	out := make([]int32, len(y))
	for i, l := range bl.lam {
		out[i] = y[i]
		if l < 0.5 {
			out[i] = bl.partner[i]
		}
	}
	return out
}
