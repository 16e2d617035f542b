// Package workload defines the benchmark workloads shared by `go test -bench`
// and `privatesnn bench`, so both measure exactly the same computation as
// scripts/bench_torch.py does in PyTorch.
package workload

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/optim"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Step is one timed unit of work on a batch.
type Step struct {
	Batch int
	Run   func()
}

// DefaultNet returns the default network (preset "small" on 1×28×28, 10
// classes) with seed-0 weights.
func DefaultNet() *vgg.Model {
	cfg, err := vgg.Preset("small", 1, 28, 28, 10)
	if err != nil {
		panic(err) // the preset is a compile-time constant
	}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		panic(err)
	}
	return m
}

func batchInput(m *vgg.Model, batch int) (*tensor.Tensor, []int32) {
	c := m.Config
	x := tensor.New(batch, c.InChannels, c.InHeight, c.InWidth)
	rng := rand.New(rand.NewPCG(1, 1))
	x.RandUniform(rng, -1, 1)
	labels := make([]int32, batch)
	for i := range labels {
		labels[i] = int32(rng.IntN(c.Classes))
	}
	return x, labels
}

// TrainStep is a training step: forward in training mode, cross-entropy,
// backward with weight gradients, SGD (momentum 0.9, weight decay 5e-4).
func TrainStep(m *vgg.Model, batch int) Step {
	x, labels := batchInput(m, batch)
	rng := rand.New(rand.NewPCG(2, 2))
	opt := optim.NewSGD(0.01, 0.9, 5e-4)
	params := m.Params()
	return Step{Batch: batch, Run: func() {
		m.ZeroGrad()
		z := m.Forward(x, nn.Mode{Train: true, RNG: rng})
		_, dz := loss.CrossEntropy(z, labels)
		m.Backward(dz, nn.Grad{Weights: true})
		opt.Step(params)
	}}
}

// InputGradStep is one step of input optimisation (model inversion):
// inference-mode forward and the gradient of Σ_n z[n, y_n] with respect to
// the input only, no weight gradients.
func InputGradStep(m *vgg.Model, batch int) Step {
	s, _ := inputGradStep(m, batch)
	return s
}

// inputGradStep is InputGradStep that also returns where each run leaves its
// input gradient, for the tests.
func inputGradStep(m *vgg.Model, batch int) (Step, **tensor.Tensor) {
	x, labels := batchInput(m, batch)
	k := m.Config.Classes
	dx := new(*tensor.Tensor)
	return Step{Batch: batch, Run: func() {
		z := m.Forward(x, nn.Mode{})
		dz := tensor.New(z.Shape...)
		for i, y := range labels {
			dz.Data[i*k+int(y)] = 1
		}
		*dx = m.Backward(dz, nn.Grad{Input: true})
	}}, dx
}

// SgemmStep multiplies two n×n matrices; Batch is the FLOP count / 1e9
// rounded, so use Seconds to derive GFLOP/s.
func SgemmStep(n int) func() {
	f, _, _, _ := sgemmStep(n)
	return f
}

// sgemmStep is SgemmStep that also returns its operands and product
// (row-major n×n), for the tests.
func sgemmStep(n int) (f func(), a, b, c []float32) {
	a, b, c = make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(i%7)/7, float32(i%5)/5
	}
	return func() { gemm.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) }, a, b, c
}

// Median runs f repeatedly (after warm-up runs) for at least minTime and at
// least 5 times, and returns the median duration of one run.
func Median(f func(), warmup int, minTime time.Duration) time.Duration {
	return Measure(f, warmup, 5, minTime).Median
}

// SNNStep simulates the spiking network on x (normalised NCHW images) for
// its configured T with the given kernel path; Batch is the image count.
func SNNStep(net *snn.Network, x *tensor.Tensor, path snn.Path) Step {
	rng := rand.New(rand.NewPCG(3, 3))
	return Step{Batch: x.Shape[0], Run: func() {
		if _, err := net.Run(context.Background(), x, rng, snn.Options{Path: path}); err != nil {
			panic(err) // x was checked against the network when the step was built
		}
	}}
}
