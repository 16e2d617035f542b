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
	keep := float32(1 / (1 - d.P))
	for i := range m {
		if rng.Float64() >= d.P {
			m[i] = keep
		}
	}
	return m
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
		d.mask = d.SampleMask(len(x.Data), m.RNG)
	} else if len(d.mask) != len(x.Data) {
		panic(fmt.Sprintf("nn: fixed dropout mask has %d elements, input %d", len(d.mask), len(x.Data)))
	}
	y := tensor.New(x.Shape...)
	for i, v := range x.Data {
		y.Data[i] = v * d.mask[i]
	}
	return y
}

// Backward implements Layer.
func (d *Dropout) Backward(dy *tensor.Tensor, _ Grad, _ bool) *tensor.Tensor {
	if d.mask == nil {
		return dy
	}
	dx := tensor.New(dy.Shape...)
	for i, v := range dy.Data {
		dx.Data[i] = v * d.mask[i]
	}
	return dx
}
