package snn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// defaultShapeNet builds privatesnn's default network shape (preset
// "small": conv 32, 32, pool, 64, 64, pool, FC 256, 10 classes on 1×28×28)
// with seed-0 weights, the same as internal/workload.DefaultNet, and
// balances its thresholds to the maximum input current on x (one pass per
// layer), so the deeper layers spike at realistic rates.
func defaultShapeNet(b *testing.B, x *tensor.Tensor, c Config) *Network {
	b.Helper()
	cfg, err := vgg.Preset("small", 1, 28, 28, 10)
	if err != nil {
		b.Fatal(err)
	}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		b.Fatal(err)
	}
	L := SpikingLayers(m)
	c.Thresholds = make([]float32, L)
	for i := range c.Thresholds {
		c.Thresholds[i] = 1
	}
	for l := range L {
		n, err := New(m, c)
		if err != nil {
			b.Fatal(err)
		}
		var mx float32
		_, err = n.Run(context.Background(), x, rand.New(rand.NewPCG(1, 1)), Options{Observe: l + 1,
			Current: func(layer int, cur []float32, _, _ int) {
				if layer == l {
					for _, v := range cur {
						mx = max(mx, v)
					}
				}
			}})
		if err != nil {
			b.Fatal(err)
		}
		c.Thresholds[l] = mx
	}
	n, err := New(m, c)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkDirectInput compares the Direct-input simulation of the default
// network shape with the first layer's current computed once per image
// ("once") against computing it at every step ("per-step", the previous
// behaviour), for 64 images.
func BenchmarkDirectInput(b *testing.B) {
	x := tensor.New(64, 1, 28, 28)
	x.RandUniform(rand.New(rand.NewPCG(2, 2)), -1, 1)
	for _, T := range []int{16, 64} {
		net := defaultShapeNet(b, x, Config{Timesteps: T, Leak: 1, Encoder: Direct})
		for _, mode := range []struct {
			name    string
			perStep bool
		}{{"once", false}, {"per-step", true}} {
			b.Run(fmt.Sprintf("T=%d/%s", T, mode.name), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(3, 3))
				loopCPU(b, func() {
					if _, err := net.Run(context.Background(), x, rng, Options{perStepDirect: mode.perStep}); err != nil {
						b.Fatal(err)
					}
				})
				b.ReportMetric(float64(x.Shape[0]*T*b.N)/b.Elapsed().Seconds(), "image-steps/s")
			})
		}
	}
}

// BenchmarkSigned compares a whole simulation of the default network shape
// with signed neurons (their recurrence in Go in every build) against
// unsigned ones (the C kernel in a cgo build), Direct input, 64 images,
// T = 8, on the same thresholds.
func BenchmarkSigned(b *testing.B) {
	x := tensor.New(64, 1, 28, 28)
	x.RandUniform(rand.New(rand.NewPCG(2, 2)), -1, 1)
	const T = 8
	net := defaultShapeNet(b, x, Config{Timesteps: T, Leak: 1, Encoder: Direct, InitMembrane: 0.5})
	for _, signed := range []bool{false, true} {
		c := net.Config
		c.Signed = signed
		n, err := New(net.Model, c)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("signed=%v", signed), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 3))
			loopCPU(b, func() {
				if _, err := n.Run(context.Background(), x, rng, Options{}); err != nil {
					b.Fatal(err)
				}
			})
			b.ReportMetric(float64(x.Shape[0]*T*b.N)/b.Elapsed().Seconds(), "image-steps/s")
		})
	}
}

// BenchmarkBurst compares a whole simulation of the default network shape
// with ordinary neurons and with burst neurons (G = 2, the first
// threshold halved, as convert --burst 2 sets it), 64 images at T = 4;
// the burst network carries more spikes, so its event-driven layers do
// more work besides its Go scan.
func BenchmarkBurst(b *testing.B) {
	x := tensor.New(64, 1, 28, 28)
	x.RandUniform(rand.New(rand.NewPCG(2, 2)), -1, 1)
	const T = 4
	net := defaultShapeNet(b, x, Config{Timesteps: T, Leak: 1, Encoder: Direct, InitMembrane: 0.5})
	for _, g := range []int{1, 2} {
		c := net.Config
		c.Burst = g
		c.Thresholds = slices.Clone(c.Thresholds)
		c.Thresholds[0] /= float32(g)
		n, err := New(net.Model, c)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("burst=%d", g), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 3))
			var spikes int64
			loopCPU(b, func() {
				r, err := n.Run(context.Background(), x, rng, Options{})
				if err != nil {
					b.Fatal(err)
				}
				spikes = 0
				for _, l := range r.Layers {
					spikes += l.Spikes
				}
			})
			b.ReportMetric(float64(x.Shape[0]*T*b.N)/b.Elapsed().Seconds(), "image-steps/s")
			b.ReportMetric(float64(spikes)/float64(x.Shape[0]), "spikes/image")
		})
	}
}

// BenchmarkConvPaths measures where the event-driven kernels stop paying:
// the default network shape (64 images, T = 8, Direct input) run on the
// dense path (im2col and GEMM) and on the event-driven one, with every
// balanced threshold scaled by 1/4 … 2 so that the hidden layers' input
// density ranges from well over DefaultEventDensity to a few percent.
// "density" is the mean input density of the layers after the first (the
// first always runs on events: its fan-in is small); compare the two
// paths' cpu-ms/op at each density to place the crossover.
func BenchmarkConvPaths(b *testing.B) {
	x := tensor.New(64, 1, 28, 28)
	x.RandUniform(rand.New(rand.NewPCG(2, 2)), -1, 1)
	base := defaultShapeNet(b, x, Config{Timesteps: 8, Leak: 1, Encoder: Direct})
	for _, scale := range []float32{0.25, 0.5, 1, 2} {
		c := base.Config
		c.Thresholds = slices.Clone(c.Thresholds)
		for i := range c.Thresholds {
			c.Thresholds[i] *= scale
		}
		net, err := New(base.Model, c)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range []struct {
			name string
			path Path
		}{{"dense", Dense}, {"events", Events}} {
			b.Run(fmt.Sprintf("theta×%g/%s", scale, p.name), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(3, 3))
				var res *Result
				loopCPU(b, func() {
					var err error
					if res, err = net.Run(context.Background(), x, rng, Options{Path: p.path}); err != nil {
						b.Fatal(err)
					}
				})
				var ev, size int64
				for _, l := range res.Layers[1:] {
					ev += l.InputEvents
					size += l.InputSize * int64(res.Images*res.Timesteps)
				}
				b.ReportMetric(float64(ev)/float64(size), "density")
			})
		}
	}
}

// BenchmarkTrainStepBurst times one TrainStep (forward and backward through
// time, weight gradients, cross-entropy towards class 0) of the default
// network shape on 64 images at T = 4, Direct input, for ordinary, signed,
// burst (G = 2) and signed burst neurons on the same thresholds (the first
// halved for G = 2): what encrypt and Attack 3 pay per step for the low-T
// recipe's neurons.
func BenchmarkTrainStepBurst(b *testing.B) {
	x := tensor.New(64, 1, 28, 28)
	x.RandUniform(rand.New(rand.NewPCG(2, 2)), -1, 1)
	const T = 4
	net := defaultShapeNet(b, x, Config{Timesteps: T, Leak: 1, Encoder: Direct, InitMembrane: 0.5})
	for _, v := range []struct {
		name   string
		g      int
		signed bool
	}{{"plain", 1, false}, {"signed", 1, true}, {"burst=2", 2, false}, {"signed-burst=2", 2, true}} {
		c := net.Config
		c.Burst, c.Signed = v.g, v.signed
		c.Thresholds = slices.Clone(c.Thresholds)
		c.Thresholds[0] /= float32(v.g)
		n, err := New(net.Model, c)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(v.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 3))
			loopCPU(b, func() {
				_, _, err := n.TrainStep(context.Background(), x, rng, TrainOptions{Surrogate: DefaultSurrogate()},
					func(i0, i1 int, logits, dS []float32) {
						k := len(logits) / (i1 - i0)
						for r := range i1 - i0 {
							dS[r*k] = -1
						}
					})
				if err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// loopCPU runs step in b.Loop and reports the process's CPU milliseconds
// per operation, steadier than wall time on a machine shared with other
// work.
func loopCPU(b *testing.B, step func()) {
	cpu := cpuSeconds()
	for b.Loop() {
		step()
	}
	b.ReportMetric((cpuSeconds()-cpu)/float64(b.N)*1e3, "cpu-ms/op")
}
