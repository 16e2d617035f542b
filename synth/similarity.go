package synth

import (
	"fmt"
	"math"

	"github.com/privatesnn/privatesnn/tensor"
)

// ClassSimilarity returns the C×C cosine similarities of the rows of the last
// fully-connected layer's weight w [C, hidden]:
// S_ij = w_iᵀw_j / (‖w_i‖₂ ‖w_j‖₂) (the paper's Eq. 2 squares the norms; the
// reference code does not, and neither does this). An all-zero row has no direction: its
// similarity to every other class is defined as 0 (and 1 to itself).
func ClassSimilarity(w *tensor.Tensor) ([][]float64, error) {
	if w == nil || len(w.Shape) != 2 || w.Shape[0] < 1 || w.Shape[1] < 1 || w.Len() != w.Shape[0]*w.Shape[1] {
		return nil, fmt.Errorf("synth: last-layer weight must be a non-empty [classes, hidden] matrix")
	}
	c, h := w.Shape[0], w.Shape[1]
	norm := make([]float64, c)
	for i := range c {
		var s float64
		for _, v := range w.Data[i*h : (i+1)*h] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("synth: last-layer weight row %d holds %g", i, v)
			}
			s += float64(v) * float64(v)
		}
		norm[i] = math.Sqrt(s)
	}
	S := make([][]float64, c)
	for i := range c {
		S[i] = make([]float64, c)
		for j := range c {
			switch {
			case i == j:
				S[i][j] = 1
			case norm[i] == 0 || norm[j] == 0:
				S[i][j] = 0
			default:
				var d float64
				wi, wj := w.Data[i*h:(i+1)*h], w.Data[j*h:(j+1)*h]
				for k := range h {
					d += float64(wi[k]) * float64(wj[k])
				}
				S[i][j] = max(-1, min(1, d/(norm[i]*norm[j])))
			}
		}
	}
	return S, nil
}

// Concentrations min–max normalises each row of a similarity matrix:
// S'_ij = (S_ij − min_k S_ik) / (max_k S_ik − min_k S_ik). Each
// row ends in [0, 1]; the diagonal (cosine 1, the row's maximum) becomes 1
// and the least similar class exactly 0. Row c is the Dirichlet
// concentration for images of class c (no β scaling, no ε). A row whose
// entries are all equal (every class equally similar) has no spread to
// normalise by and becomes all ones, the symmetric Dirichlet.
func Concentrations(S [][]float64) [][]float64 {
	out := make([][]float64, len(S))
	for i, row := range S {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range row {
			lo, hi = min(lo, v), max(hi, v)
		}
		out[i] = make([]float64, len(row))
		for j, v := range row {
			if hi > lo {
				out[i][j] = (v - lo) / (hi - lo)
			} else {
				out[i][j] = 1
			}
		}
	}
	return out
}
