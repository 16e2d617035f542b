package attack

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/internal/workload"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// BenchmarkAttack3Step times one gradient of Attack 3's objective (frozen
// weights, input gradient, triangle surrogate) on 64 images of the default
// network shape at T = 8 with the BPTT workload's thresholds: "trainstep"
// is the attack's path, each chunk propagated back while its forward
// currents are in memory; "forward+backward" is the path it replaced,
// whose Backward simulates every layer again. Both give the same gradient
// bit for bit.
func BenchmarkAttack3Step(b *testing.B) {
	for _, enc := range []snn.Encoder{snn.Direct, snn.Poisson} {
		net, err := workload.BPTTNet(8)
		if err != nil {
			b.Fatal(err)
		}
		cfg := net.Config
		cfg.Encoder = enc
		if net, err = snn.New(net.Model, cfg); err != nil {
			b.Fatal(err)
		}
		n, k, T := 64, net.Model.Config.Classes, cfg.Timesteps
		rng := rand.New(rand.NewPCG(1, 2))
		x := tensor.New(n, 1, 28, 28)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		targets := make([]int, n)
		for i := range targets {
			targets[i] = i % k
		}
		o := snn.TrainOptions{Surrogate: snn.DefaultSurrogate(), InputGradient: true, Frozen: true}
		ctx := context.Background()
		b.Run(enc.String()+"/trainstep", func(b *testing.B) {
			obj := snnObjective(net, targets, o.Surrogate)
			for b.Loop() {
				if _, err := obj(ctx, x, rng); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(enc.String()+"/forward+backward", func(b *testing.B) {
			dS := tensor.New(n, k)
			for b.Loop() {
				tp, err := net.Forward(ctx, x, rng, o)
				if err != nil {
					b.Fatal(err)
				}
				ceGrad(dS, tp.Logits(), targets, T)
				if _, err := tp.Backward(ctx, dS); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
