package snn

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// bpttNet builds a small network with a conv dropout site (conv 8 feeds
// conv 8 directly), pooling, and a hidden FC.
func bpttNet(t *testing.T, enc Encoder, reset Reset) (*Network, *tensor.Tensor) {
	t.Helper()
	cfg := vgg.Config{Name: "bptt", Features: []vgg.Item{8, 8, vgg.A, 16, vgg.A}, Hidden: []int{32}, Classes: 5,
		InChannels: 1, InHeight: 12, InWidth: 12}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(41, 42)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(m, Config{Timesteps: 12, Leak: 1, Reset: reset, Encoder: enc, InitMembrane: 0.25,
		Thresholds: []float32{0.75, 1.25, 1.5, 1}})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(6, 1, 12, 12)
	x.RandUniform(rand.New(rand.NewPCG(43, 44)), -1, 1)
	return n, x
}

// Without dropout, the training forward pass is the inference simulation:
// same seeds per image, same logits, whatever the chunking.
func TestForwardMatchesRun(t *testing.T) {
	for _, enc := range []Encoder{Poisson, Direct} {
		n, x := bpttNet(t, enc, ResetSubtract)
		r, err := n.Run(context.Background(), x, rand.New(rand.NewPCG(5, 5)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, budget := range []int64{0, 1} { // 1 byte: one image per chunk
			tp, err := n.Forward(context.Background(), x, rand.New(rand.NewPCG(5, 5)),
				TrainOptions{Surrogate: DefaultSurrogate(), MemoryBudget: budget})
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range r.Logits().Data {
				if tp.Logits().Data[i] != v {
					t.Fatalf("%v budget %d: logit %d is %g, Run gives %g", enc, budget, i, tp.Logits().Data[i], v)
				}
			}
			for l := range n.Config.Thresholds {
				if got, want := tp.SpikeRate(l), r.SpikeRate(l); got != want {
					t.Fatalf("%v: layer %d spike rate %g, Run %g", enc, l, got, want)
				}
			}
		}
	}
}

// randomBackward runs n forward on x with options o (images' seeds from
// PCG(7, 7)) and back from a loss gradient uniform in [−1, 1) (PCG(8, 8)),
// and returns the tape and ∂L/∂x.
func randomBackward(t *testing.T, n *Network, x *tensor.Tensor, o TrainOptions) (*Tape, *tensor.Tensor) {
	t.Helper()
	tp, err := n.Forward(context.Background(), x, rand.New(rand.NewPCG(7, 7)), o)
	if err != nil {
		t.Fatal(err)
	}
	dS := tensor.New(tp.Logits().Shape...)
	dS.RandUniform(rand.New(rand.NewPCG(8, 8)), -1, 1)
	dx, err := tp.Backward(context.Background(), dS)
	if err != nil {
		t.Fatal(err)
	}
	return tp, dx
}

// Chunking changes neither the forward pass nor the gradients (beyond
// float32 summation order across chunks).
func TestBackwardChunkingInvariant(t *testing.T) {
	for _, reset := range []Reset{ResetSubtract, ResetZero} {
		var ref []float32
		var refDx *tensor.Tensor
		for _, budget := range []int64{0, 1} {
			n, x := bpttNet(t, Poisson, reset)
			o := TrainOptions{Surrogate: DefaultSurrogate(), ConvDropout: 0.3, FCDropout: 0.5, MemoryBudget: budget, InputGradient: true}
			_, dx := randomBackward(t, n, x, o)
			var g []float32
			for _, p := range n.Model.Params() {
				g = append(g, p.G.Data...)
			}
			if ref == nil {
				ref, refDx = g, dx
				var nz int
				for _, v := range g {
					if v != 0 {
						nz++
					}
				}
				if nz < len(g)/10 {
					t.Fatalf("%v: only %d of %d weight gradients are non-zero", reset, nz, len(g))
				}
				continue
			}
			assertNear(t, "weight gradient", g, ref, 1e-5)
			assertNear(t, "input gradient", dx.Data, refDx.Data, 1e-5)
		}
	}
}

func assertNear(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	var scale float64
	for _, v := range want {
		scale = max(scale, float64(abs32(v)))
	}
	for i := range want {
		if d := float64(abs32(got[i] - want[i])); d > tol*scale {
			t.Fatalf("%s[%d]: %g, want %g (|diff| %g > %g)", what, i, got[i], want[i], d, tol*scale)
		}
	}
}

// A frozen backward pass leaves the weight gradients alone and gives the
// input gradient of a full one; the recorded first-layer current gradient,
// transposed-convolved with conv1's weights, is that input gradient.
func TestFrozenBackwardAndCurrentGradient(t *testing.T) {
	for _, enc := range []Encoder{Poisson, Direct} {
		var refDx *tensor.Tensor
		for _, frozen := range []bool{false, true} {
			n, x := bpttNet(t, enc, ResetSubtract)
			o := TrainOptions{Surrogate: DefaultSurrogate(), InputGradient: true, CurrentGradient: frozen, Frozen: frozen}
			tp, dx := randomBackward(t, n, x, o)
			if !frozen {
				refDx = dx
				if tp.CurrentGradient() != nil {
					t.Fatal("current gradient recorded without CurrentGradient")
				}
				continue
			}
			for _, p := range n.Model.Params() {
				for i, v := range p.G.Data {
					if v != 0 {
						t.Fatalf("%v: frozen backward wrote %s gradient %d = %g", enc, p.Name, i, v)
					}
				}
			}
			assertNear(t, "frozen input gradient", dx.Data, refDx.Data, 1e-6)
			G := tp.CurrentGradient()
			conv := n.Model.Convs[0]
			if G == nil || !tensor.SameShape(G.Shape, []int{x.Shape[0], conv.OutC, x.Shape[2], x.Shape[3]}) {
				t.Fatalf("%v: current gradient %v", enc, G)
			}
			var nz int
			for _, v := range G.Data {
				if v != 0 {
					nz++
				}
			}
			if nz < len(G.Data)/20 {
				t.Fatalf("%v: only %d of %d current gradients are non-zero", enc, nz, len(G.Data))
			}
			assertNear(t, "conv1ᵀ·G", transposedConv(G, conv.Weight.W, conv.InC, 1), dx.Data, 1e-5)
		}
	}
}

// transposedConv returns dx[n, ci, y, x] = Σ_{co, a, b} w[co, ci, a, b]·
// g[n, co, y−a+pad, x−b+pad] for a stride-1 3×3 convolution (NCHW).
func transposedConv(g *tensor.Tensor, w *tensor.Tensor, cin, pad int) []float32 {
	N, cout, h, wd := g.Shape[0], g.Shape[1], g.Shape[2], g.Shape[3]
	k := w.Shape[2]
	dx := make([]float32, N*cin*h*wd)
	for n := range N {
		for co := range cout {
			for ci := range cin {
				for a := range k {
					for b := range k {
						wv := w.Data[((co*cin+ci)*k+a)*k+b]
						for y := range h {
							oy := y - a + pad
							if oy < 0 || oy >= h {
								continue
							}
							for xx := range wd {
								ox := xx - b + pad
								if ox < 0 || ox >= wd {
									continue
								}
								dx[((n*cin+ci)*h+y)*wd+xx] += wv * g.Data[((n*cout+co)*h+oy)*wd+ox]
							}
						}
					}
				}
			}
		}
	}
	return dx
}
