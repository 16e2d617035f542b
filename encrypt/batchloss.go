package encrypt

import (
	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/tensor"
)

// batchLoss is the loss of one training batch of n images of k classes:
// Loss's, its cross-entropy target smoothed by alpha and blended by the
// mixup blend bl (nil without mixup), except for the images the trapdoor
// tr triggered (nil: none), whose loss is the hard cross-entropy towards
// their trigger's class with weight 1 and no distillation. Every term is
// a sum over the batch's images divided by n.
type batchLoss struct {
	y                    []int32
	bl                   *blend
	tr                   *trap
	k, n                 int
	kappa, m, tau, alpha float64
}

// rows writes ∂L/∂S of rows i0..i1 of the batch: s holds their summed
// output potentials [i1−i0, k] and teacher the ANN's logits for them (nil
// when m = 0).
func (b *batchLoss) rows(ds, s, teacher []float32, i0, i1 int) {
	lossRows(ds, scaled(s, b.kappa), teacher, b.y[i0:i1], b.k, b.n, b.kappa, b.m, b.tau, b.alpha)
	if b.bl != nil {
		b.bl.smoothRows(ds, s, teacher, i0, i1, b.k, b.n, b.kappa, b.m, b.tau, b.alpha)
	}
	if b.tr == nil {
		return
	}
	k := b.k
	for i := i0; i < i1; i++ {
		c := b.tr.class[i]
		if c < 0 {
			continue
		}
		r := i - i0
		g := ds[r*k : (r+1)*k]
		loss.CrossEntropyRows(g, scaled(s[r*k:(r+1)*k], b.kappa), []int32{c}, k, b.n)
		for j, v := range g {
			g[j] = float32(b.kappa * float64(v))
		}
	}
}

// value returns the batch's loss and its parts from the summed output
// potentials s [n, k] and the teacher's logits (nil when m = 0). Without
// triggered images it is Loss's (smoothed and blended); with them CE is
// the mean over the batch of every image's cross-entropy (towards its
// trigger's class for a triggered one), KD the sum of the other images'
// distillation terms over n, and Total the loss the gradient is of.
func (b *batchLoss) value(s, teacher *tensor.Tensor) LossValue {
	if b.tr == nil {
		lv := lossValue(scaled(s.Data, b.kappa), s.Shape, teacher, b.y, b.m, b.tau, b.alpha)
		if b.bl != nil {
			lv = b.bl.smoothValues(s, b.y, lv, b.kappa, b.m, b.alpha)
		}
		return lv
	}
	var clean, trapped []int
	for i, c := range b.tr.class {
		if c < 0 {
			clean = append(clean, i)
		} else {
			trapped = append(trapped, i)
		}
	}
	var lv LossValue
	if len(clean) > 0 {
		sub := batchLoss{y: pick(b.y, clean), k: b.k, n: len(clean), kappa: b.kappa, m: b.m, tau: b.tau, alpha: b.alpha}
		if b.bl != nil {
			sub.bl = &blend{lam: pick(b.bl.lam, clean), partner: pick(b.bl.partner, clean)}
		}
		var tc *tensor.Tensor
		if teacher != nil {
			tc = pickRows(teacher, clean)
		}
		c := sub.value(pickRows(s, clean), tc)
		f := float64(len(clean)) / float64(b.n)
		lv = LossValue{Total: f * c.Total, CE: f * c.CE, KD: f * c.KD}
	}
	z := pickRows(s, trapped)
	ce, _ := loss.CrossEntropy(tensor.FromData(scaled(z.Data, b.kappa), z.Shape...), pick(b.tr.class, trapped))
	f := float64(len(trapped)) / float64(b.n)
	lv.Total += f * ce
	lv.CE += f * ce
	return lv
}

// major returns the label each image's training accuracy is counted
// against: the blend's label of the larger share (blend.major), or the
// trigger's class for a triggered image.
func (b *batchLoss) major() []int32 {
	out := b.bl.major(b.y)
	if b.tr == nil {
		return out
	}
	if b.bl == nil {
		out = append([]int32(nil), out...)
	}
	for i, c := range b.tr.class {
		if c >= 0 {
			out[i] = c
		}
	}
	return out
}

// pick returns v's elements at idx.
func pick[T any](v []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = v[j]
	}
	return out
}

// pickRows returns the rows idx of the matrix x [n, k].
func pickRows(x *tensor.Tensor, idx []int) *tensor.Tensor {
	k := x.Shape[1]
	out := tensor.New(len(idx), k)
	for i, j := range idx {
		copy(out.Data[i*k:(i+1)*k], x.Data[j*k:(j+1)*k])
	}
	return out
}
