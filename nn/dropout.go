package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/tensor"
)

// Dropout zeroes each element with probability P in training mode and
// scales the survivors by 1/(1−P) (inverted dropout), so inference is the
// identity. The mask can be sampled once and fixed (FixMask), which the
// spiking network needs: one mask per layer shared by all time steps.
type Dropout struct {
	P float64

	mask  []float32 // 0 or 1/(1−P); nil when the last Forward was inference
	fixed bool
	// applied records that the last Forward multiplied by mask, so that
	// Backward does too; a fixed mask is kept through inference Forwards
	// but not applied by them.
	applied bool
	buf     []float32 // storage reused for sampled masks
	y, dx   *tensor.Tensor
}

// NewDropout returns a dropout layer. It panics unless 0 ≤ p < 1.
func NewDropout(p float64) *Dropout {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("nn: dropout probability %g outside [0, 1)", p))
	}
	return &Dropout{P: p}
}

// Params implements Layer.
func (*Dropout) Params() []*Param { return nil }

// SampleMask draws a mask of n elements: 0 with probability P, else 1/(1−P).
func (d *Dropout) SampleMask(n int, rng *rand.Rand) []float32 {
	m := make([]float32, n)
	d.fillMask(m, rng)
	return m
}

// fillMask draws the mask into m.
func (d *Dropout) fillMask(m []float32, rng *rand.Rand) { FillDropoutMask(m, d.P, rng) }

// FillDropoutMask draws an inverted-dropout mask into m: 0 with
// probability p, else 1/(1−p). Each 64-bit draw gives four 16-bit
// uniforms; an element is dropped when its uniform is below p·2¹⁶, so p is
// realised to within 2⁻¹⁶.
func FillDropoutMask(m []float32, p float64, rng *rand.Rand) {
	keep := float32(1 / (1 - p))
	cut := uint64(p*65536 + 0.5)
	for i := 0; i < len(m); i += 4 {
		r := rng.Uint64()
		for j := i; j < min(i+4, len(m)); j++ {
			if r&0xffff >= cut {
				m[j] = keep
			} else {
				m[j] = 0
			}
			r >>= 16
		}
	}
}

// FixMask makes every later training-mode Forward use mask (whose length
// must match the input size) until Unfix is called.
func (d *Dropout) FixMask(mask []float32) { d.mask, d.fixed = mask, true }

// Unfix returns to drawing a fresh mask on each training-mode Forward.
func (d *Dropout) Unfix() { d.mask, d.fixed = nil, false }

// Mask returns the mask used by the last training-mode Forward (nil after
// an inference Forward).
func (d *Dropout) Mask() []float32 { return d.mask }

// Forward implements Layer.
func (d *Dropout) Forward(x *tensor.Tensor, m Mode) *tensor.Tensor {
	d.applied = false
	if !m.Train || d.P == 0 {
		if !d.fixed {
			d.mask = nil
		}
		return x
	}
	if !d.fixed {
		if m.RNG == nil {
			panic("nn: Dropout in training mode needs Mode.RNG")
		}
		if cap(d.buf) < len(x.Data) {
			d.buf = make([]float32, len(x.Data))
		}
		d.mask = d.buf[:len(x.Data)]
		d.fillMask(d.mask, m.RNG)
	} else if len(d.mask) != len(x.Data) {
		panic(fmt.Sprintf("nn: fixed dropout mask has %d elements, input %d", len(d.mask), len(x.Data)))
	}
	d.applied = true
	d.y = reuse(d.y, x.Shape)
	for i, v := range x.Data {
		d.y.Data[i] = v * d.mask[i]
	}
	return d.y
}

// Backward implements Layer.
func (d *Dropout) Backward(dy *tensor.Tensor, _ Grad, _ bool) *tensor.Tensor {
	if !d.applied {
		return dy
	}
	d.dx = reuse(d.dx, dy.Shape)
	for i, v := range dy.Data {
		d.dx.Data[i] = v * d.mask[i]
	}
	return d.dx
}
