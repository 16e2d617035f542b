package imageset

import (
	"fmt"
	"math"
)

// Normalization maps an 8-bit pixel p to the network input
// x = (p/255 − Mean)/Std. privatesnn uses Mean = Std = 0.5 (x ∈ [−1, 1]).
type Normalization struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// TrainingNormalization returns the normalisation privatesnn trains and
// evaluates its ANNs with and records in their cards: Mean = Std = 0.5, so
// a pixel p maps to (p/255 − 0.5)/0.5 ∈ [−1, 1]. Training and evaluation
// use its Float64Table.
func TrainingNormalization() Normalization { return Normalization{Mean: 0.5, Std: 0.5} }

// Validate reports a normalisation that cannot be used: a mean that is not
// finite or a standard deviation that is not positive and finite.
func (n Normalization) Validate() error {
	if !(n.Std > 0) || math.IsInf(n.Std, 0) || math.IsNaN(n.Mean) || math.IsInf(n.Mean, 0) {
		return fmt.Errorf("normalisation mean %g std %g: want a finite mean and a positive finite std", n.Mean, n.Std)
	}
	return nil
}

// Float64Value returns the normalised value of pixel p computed in float64
// as (p/255 − Mean)/Std and rounded once to float32. Training, evaluation
// and synthesis use it (see the package documentation).
func (n Normalization) Float64Value(p uint8) float32 {
	return float32((float64(p)/255 - n.Mean) / n.Std)
}

// Float32Value returns the normalised value of pixel p computed in float32
// as p/(255·Std) − Mean/Std, each of the two terms rounded to float32
// first; for Mean = Std = 0.5 that is p/127.5 − 1 in float32. It can differ
// from Float64Value by a few float32 rounding errors (about 2⁻²³ times the
// larger of |p/(255·Std)| and |Mean/Std|). Calibration, encryption, the
// attacks and the audit use it (see the package documentation).
func (n Normalization) Float32Value(p uint8) float32 {
	return float32(p)/float32(255*n.Std) - float32(n.Mean/n.Std)
}

// Black returns the normalised value of a black pixel (p = 0), −Mean/Std
// rounded to float32: −1 for 0.5/0.5. Float64Value(0) and Float32Value(0)
// are equal (zero minus a term is exact in both), and this is that value.
func (n Normalization) Black() float32 { return n.Float32Value(0) }

// Table holds the normalised value of every 8-bit pixel value.
type Table [256]float32

// Float64Table returns Float64Value for every byte: the table of the
// training and evaluation side.
func (n Normalization) Float64Table() *Table {
	var t Table
	for p := range t {
		t[p] = n.Float64Value(uint8(p))
	}
	return &t
}

// Float32Table returns Float32Value for every byte: the table of the model
// side (calibration, encryption, attacks, audit).
func (n Normalization) Float32Table() *Table {
	var t Table
	for p := range t {
		t[p] = n.Float32Value(uint8(p))
	}
	return &t
}

// Black returns the table's value of a black pixel (p = 0), the fill of
// padded pixels.
func (t *Table) Black() float32 { return t[0] }

// Fill writes the normalised value of every pixel of src into dst, which
// must be at least as long.
func (t *Table) Fill(dst []float32, src []uint8) {
	dst = dst[:len(src)]
	for i, p := range src {
		dst[i] = t[p]
	}
}
