package snn

import (
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

func TestAccuracyCurve(t *testing.T) {
	// Two readouts of three images in two classes.
	r := &Result{Readouts: []int{2, 4}, Potentials: []*tensor.Tensor{
		tensor.FromData([]float32{1, 0, 0, 1, 1, 1}, 3, 2), // predicts 0, 1, 0 (tie → first)
		tensor.FromData([]float32{0, 1, 0, 1, 2, 1}, 3, 2), // predicts 1, 1, 0
	}}
	got := AccuracyCurve(r, []int32{0, 1, 1})
	want := []TimestepAccuracy{{2, 2.0 / 3}, {4, 1.0 / 3}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("curve %v, want %v", got, want)
	}
	if AccuracyCurve(r, nil) != nil {
		t.Error("a run over no images has a curve")
	}
	if p := SmallestWithin(got, 0.7, 0.01); p != nil {
		t.Errorf("within 1 pp of 70 %%: T = %d, want none", *p)
	}
	if p := SmallestWithin(got, 0.67, 0.01); p == nil || *p != 2 {
		t.Errorf("within 1 pp of 67 %%: %v, want 2", p)
	}
}
