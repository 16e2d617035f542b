package snn

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

// TrainStep must reproduce Forward followed by Backward bit for bit:
// logits, weight gradients, ∂L/∂x, Σ_t ∂L/∂I_1 and spike rates, for both
// encoders and resets, with dropout, one or several images per chunk, and
// a surrogate of each kind (the atan cases frozen, as the attacks run it).
func TestTrainStepMatchesForwardBackward(t *testing.T) {
	same := func(t *testing.T, what string, a, b []float32) {
		t.Helper()
		if len(a) != len(b) {
			t.Fatalf("%s: %d values, want %d", what, len(a), len(b))
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: %g, Forward+Backward gives %g", what, i, a[i], b[i])
			}
		}
	}
	for _, enc := range []Encoder{Poisson, Direct} {
		for _, reset := range []Reset{ResetSubtract, ResetZero} {
			for _, budget := range []int64{0, 1} {
				for ki, kind := range []SurrogateKind{Triangle, FastSigmoid, Atan} {
					sg := DefaultSurrogate()
					sg.Kind, sg.Slope = kind, 4
					// Frozen (no weight gradients) is what the attacks use.
					frozen := ki == 2
					o := TrainOptions{Surrogate: sg, ConvDropout: 0.3, FCDropout: 0.5, MemoryBudget: budget,
						InputGradient: true, CurrentGradient: true, Frozen: frozen}
					dS := tensor.New(6, 5)
					dS.RandUniform(rand.New(rand.NewPCG(8, 8)), -1, 1)

					n1, x := bpttNet(t, enc, reset)
					tp1, err := n1.Forward(context.Background(), x, rand.New(rand.NewPCG(7, 7)), o)
					if err != nil {
						t.Fatal(err)
					}
					dx1, err := tp1.Backward(context.Background(), dS)
					if err != nil {
						t.Fatal(err)
					}

					n2, _ := bpttNet(t, enc, reset)
					calls := 0
					tp2, dx2, err := n2.TrainStep(context.Background(), x, rand.New(rand.NewPCG(7, 7)), o,
						func(i0, i1 int, logits, g []float32) {
							calls++
							same(t, "chunk logits", logits, tp1.Logits().Data[i0*5:i1*5])
							copy(g, dS.Data[i0*5:i1*5])
						})
					if err != nil {
						t.Fatal(err)
					}
					if want := (6 + tp2.chunk - 1) / tp2.chunk; calls != want {
						t.Fatalf("grad called %d times for %d chunks", calls, want)
					}
					same(t, "logits", tp2.Logits().Data, tp1.Logits().Data)
					same(t, "dx", dx2.Data, dx1.Data)
					same(t, "current gradient", tp2.CurrentGradient().Data, tp1.CurrentGradient().Data)
					p1, p2 := n1.Model.Params(), n2.Model.Params()
					for i := range p1 {
						same(t, p1[i].Name, p2[i].G.Data, p1[i].G.Data)
					}
					for l := range n1.Config.Thresholds {
						if a, b := tp2.SpikeRate(l), tp1.SpikeRate(l); a != b {
							t.Fatalf("layer %d spike rate %g, Forward gives %g", l, a, b)
						}
					}
					if _, err := tp2.Backward(context.Background(), dS); err == nil {
						t.Fatal("TrainStep's tape propagated again")
					}
				}
			}
		}
	}
}
