package snn

import "github.com/privatesnn/privatesnn/tensor"

// TimestepAccuracy is the accuracy read out after T steps.
type TimestepAccuracy struct {
	T        int     `json:"t"`
	Accuracy float64 `json:"accuracy"`
}

// AccuracyCurve returns the fraction of images whose accumulated output
// potential at each readout of r has its maximum at the image's label (a
// tie counts for the first maximal class). It returns nil for a run over
// no images.
func AccuracyCurve(r *Result, labels []int32) []TimestepAccuracy {
	if r == nil || len(labels) == 0 {
		return nil
	}
	out := make([]TimestepAccuracy, len(r.Readouts))
	for i, p := range r.Potentials {
		k := p.Shape[1]
		correct := 0
		for n, y := range labels {
			if int32(tensor.Argmax(p.Data[n*k:(n+1)*k])) == y {
				correct++
			}
		}
		out[i] = TimestepAccuracy{T: r.Readouts[i], Accuracy: float64(correct) / float64(len(labels))}
	}
	return out
}

// Hits returns, for every image of r, whether its accumulated output
// potential at r's last readout has its maximum at the image's label (a tie
// counts for the first maximal class), as AccuracyCurve counts it. It
// returns nil for a run over no images.
func Hits(r *Result, labels []int32) []bool {
	if r == nil || len(labels) == 0 {
		return nil
	}
	p := r.Logits()
	k := p.Shape[1]
	out := make([]bool, len(labels))
	for n, y := range labels {
		out[n] = int32(tensor.Argmax(p.Data[n*k:(n+1)*k])) == y
	}
	return out
}

// SmallestWithin returns the first readout of curve whose accuracy is at
// least ref − margin, or nil when none is.
func SmallestWithin(curve []TimestepAccuracy, ref, margin float64) *int {
	for _, c := range curve {
		if c.Accuracy >= ref-margin {
			t := c.T
			return &t
		}
	}
	return nil
}
