package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

func TestQCFSForward(t *testing.T) {
	q := NewQCFS(4, 2)
	x := &tensor.Tensor{Shape: []int{7}, Data: []float32{-1, -0.2, 0.2, 0.3, 0.8, 1.8, 5}}
	// a = x/2·4 + ½: −1.5, 0.1, 0.9, 1.1, 2.1, 4.1, 10.5 → ⌊·⌋/4 clipped → ×2.
	want := []float32{0, 0, 0, 0.5, 1, 2, 2}
	for i, v := range q.Forward(x, Mode{}).Data {
		if v != want[i] {
			t.Fatalf("y(%g) = %g, want %g", x.Data[i], v, want[i])
		}
	}
}

// The straight-through gradients are the exact gradients of the function
// with the floor replaced by the identity: checked by finite differences
// on inputs away from its two kinks, x = −λ/(2L) and x = λ(1 − 1/(2L)).
func TestGradQCFS(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, levels := range []int{1, 4, 8} {
		q := NewQCFS(levels, 1.5)
		q.identity = true
		x := randTensor(rng, 3, 40)
		lam, L := float32(1.5), float32(levels)
		for i, v := range x.Data {
			x.Data[i] = 2 * v
			for _, kink := range []float32{-lam / (2 * L), lam * (1 - 1/(2*L))} {
				if d := x.Data[i] - kink; d > -0.05 && d < 0.05 {
					x.Data[i] = kink + 0.1
				}
			}
		}
		checkGrad(t, "qcfs", q, x, func() Mode { return Mode{Train: true} })
	}
}
