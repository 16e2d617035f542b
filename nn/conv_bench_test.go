package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

// The default network ("small" VGG on 28×28×1, batch 64): its four convs.
var benchConvs = []struct{ cin, cout, hw int }{{1, 32, 28}, {32, 32, 28}, {32, 64, 14}, {64, 64, 14}}

const benchBatch = 64

// backends runs f once per conv backend: oneDNN ("fast", im2col when oneDNN
// is unavailable) and the im2col reference.
func backends(b *testing.B, f func(b *testing.B, off bool)) {
	b.Run("fast", func(b *testing.B) { f(b, false) })
	b.Run("im2col", func(b *testing.B) { f(b, true) })
}

func reportMS(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/op")
}

func BenchmarkConv2DForward(b *testing.B) {
	for _, s := range benchConvs {
		b.Run(fmt.Sprintf("%dx%d_%d", s.cin, s.cout, s.hw), func(b *testing.B) {
			backends(b, func(b *testing.B, off bool) {
				rng := rand.New(rand.NewPCG(1, 1))
				c := NewConv2D(s.cin, s.cout, 3, 1)
				c.InitKaiming(rng)
				c.fast.off = off
				x := randTensor(rng, s.cin, benchBatch, s.hw, s.hw)
				for b.Loop() {
					c.Forward(x, Mode{Train: true})
				}
				reportMS(b)
			})
		})
	}
}

func BenchmarkConv2DBackward(b *testing.B) {
	for i, s := range benchConvs {
		b.Run(fmt.Sprintf("%dx%d_%d", s.cin, s.cout, s.hw), func(b *testing.B) {
			backends(b, func(b *testing.B, off bool) {
				rng := rand.New(rand.NewPCG(1, 1))
				c := NewConv2D(s.cin, s.cout, 3, 1)
				c.InitKaiming(rng)
				c.fast.off = off
				x := randTensor(rng, s.cin, benchBatch, s.hw, s.hw)
				dy := randTensor(rng, s.cout, benchBatch, s.hw, s.hw)
				c.Forward(x, Mode{Train: true})
				for b.Loop() {
					c.cached = !off // the im2col of x stays valid
					c.Backward(dy, Grad{Weights: true}, i > 0)
				}
				reportMS(b)
			})
		})
	}
}

// benchNet builds the default network by hand (package vgg imports nn),
// without dropout.
func benchNet(rng *rand.Rand, off bool) *Sequential {
	var ls []Layer
	ls = append(ls, ToCNHW{})
	for i, s := range benchConvs {
		c := NewConv2D(s.cin, s.cout, 3, 1)
		c.InitKaiming(rng)
		c.fast.off = off
		ls = append(ls, c, &ReLU{})
		if i%2 == 1 {
			ls = append(ls, &AvgPool2{})
		}
	}
	l1, l2 := NewLinear(64*7*7, 256), NewLinear(256, 10)
	l1.InitKaiming(rng)
	l2.InitKaiming(rng)
	ls = append(ls, &Flatten{}, l1, &ReLU{}, l2)
	return &Sequential{Layers: ls}
}

// BenchmarkTrainStep measures forward + backward (weight gradients) of the
// default network on a batch of 64, plus a plain SGD update.
func BenchmarkTrainStep(b *testing.B) {
	backends(b, func(b *testing.B, off bool) {
		rng := rand.New(rand.NewPCG(1, 1))
		net := benchNet(rng, off)
		x := randTensor(rng, benchBatch, 1, 28, 28)
		var dz *tensor.Tensor
		for b.Loop() {
			net.ZeroGrad()
			z := net.Forward(x, Mode{Train: true, RNG: rng})
			if dz == nil {
				dz = randTensor(rng, z.Shape...)
			}
			net.Backward(dz, Grad{Weights: true})
			for _, p := range net.Params() {
				for i, g := range p.G.Data {
					p.W.Data[i] -= 1e-3 * g
				}
			}
		}
		reportMS(b)
	})
}
