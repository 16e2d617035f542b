package imageset

import (
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

// TestSmooth checks the box blur on a hand-worked 3×3 plane: the centre is
// the mean of all nine values, a corner the mean of its four.
func TestSmooth(t *testing.T) {
	x := tensor.FromData([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3)
	y := Smooth(x)
	want := []float32{3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7}
	for i, v := range want {
		if y.Data[i] != v {
			t.Fatalf("smoothed %v, want %v", y.Data, want)
		}
	}
}
