package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/internal/workload"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// benchResult mirrors the JSON printed by scripts/bench_torch.py.
type benchResult struct {
	Framework                  string    `json:"framework"`
	Threads                    int       `json:"threads"`
	Batch                      int       `json:"batch"`
	ANNTrainStepItemsPerS      float64   `json:"ann_train_step_items_per_s"`
	ANNInputGradItemsPerS      float64   `json:"ann_input_grad_items_per_s"`
	Sgemm1024GFLOPS            float64   `json:"sgemm_1024_gflops"`
	Sgemm1024NativeGFLOPS      float64   `json:"sgemm_1024_openblas_native_gflops,omitempty"`
	SgemmFractionOfOpenBLAS    float64   `json:"sgemm_fraction_of_openblas,omitempty"`
	SNNItemsTimestepsPerS      float64   `json:"snn_items_timesteps_per_s,omitempty"`
	SNNDenseItemsTimestepsPerS float64   `json:"snn_dense_items_timesteps_per_s,omitempty"`
	SNNTimesteps               int       `json:"snn_timesteps,omitempty"`
	SNNBatch                   int       `json:"snn_batch,omitempty"`
	SNNModel                   string    `json:"snn_model,omitempty"`
	SNNKernel                  string    `json:"snn_kernel,omitempty"`
	SNNSpikeRates              []float64 `json:"snn_spike_rates,omitempty"`
	Backend                    gemm.Info `json:"backend"`
	ConvBackend                string    `json:"conv_backend"`
	GoVersion                  string    `json:"go"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		threads int
		batch   int
		minTime time.Duration
		jsonOut bool
		snnDir  string
		snnT    int
		snnB    int
	)
	fs := newFlagSet("bench")
	var b bounds
	fs.IntVar(&threads, "threads", 2, "threads to use (0: all cores); compare with PyTorch at the same count")
	b.Int(fs, &batch, "batch", 64, 1, 4096, "batch size of the network workloads")
	fs.DurationVar(&minTime, "time", 3*time.Second, "minimum measuring time per workload (> 0)")
	fs.BoolVar(&jsonOut, "json", false, "print the result as one JSON object")
	fs.StringVar(&snnDir, "snn", "", "also time the simulation of this spiking model (from 'privatesnn convert') on the embedded test images")
	b.Int(fs, &snnT, "snn-timesteps", 0, 0, snn.MaxTimesteps, "time steps of the SNN workload (0: the model's T)")
	b.Int(fs, &snnB, "snn-batch", 64, 1, 1000, "images per SNN simulation (the embedded test set has 1,000)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	if minTime <= 0 {
		return fmt.Errorf("%w: --time %v: want a positive duration", errUsage, minTime)
	}
	if err := setThreads(threads); err != nil {
		return err
	}
	var sw *snnWorkload
	if snnDir != "" {
		var err error
		if sw, err = loadSNNWorkload(snnDir, snnT, snnB); err != nil {
			return err
		}
	}
	pr := newProgress(stderr, false)
	res := benchResult{Framework: "privatesnn", Threads: runtime.GOMAXPROCS(0), Batch: batch, Backend: gemm.CurrentInfo(), ConvBackend: nn.ConvBackend(), GoVersion: runtime.Version()}
	m := workload.DefaultNet()
	steps := []struct {
		name string
		dst  *float64
		step workload.Step
	}{
		{"ann train step", &res.ANNTrainStepItemsPerS, workload.TrainStep(m, batch)},
		{"ann input gradient", &res.ANNInputGradItemsPerS, workload.InputGradStep(m, batch)},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		pr.line("measuring %s (batch %d, %d threads)…", s.name, batch, res.Threads)
		d := workload.Median(s.step.Run, 5, minTime)
		*s.dst = float64(s.step.Batch) / d.Seconds()
	}
	if sw != nil {
		if err := benchSNN(ctx, &res, sw, minTime, pr); err != nil {
			return err
		}
	}
	pr.line("measuring sgemm 1024³…")
	d := workload.Median(workload.SgemmStep(1024), 3, minTime)
	res.Sgemm1024GFLOPS = 2 * 1024 * 1024 * 1024 / d.Seconds() / 1e9
	if g, ok := gemm.NativeSgemmGFLOPS(1024, 40); ok {
		res.Sgemm1024NativeGFLOPS = g
		res.SgemmFractionOfOpenBLAS = res.Sgemm1024GFLOPS / g
	}
	if jsonOut {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "ann train step      %8.1f items/s\n", res.ANNTrainStepItemsPerS)
	fmt.Fprintf(stdout, "ann input gradient  %8.1f items/s\n", res.ANNInputGradItemsPerS)
	fmt.Fprintf(stdout, "sgemm 1024³         %8.1f GFLOP/s", res.Sgemm1024GFLOPS)
	if res.Sgemm1024NativeGFLOPS > 0 {
		fmt.Fprintf(stdout, " (%.0f%% of OpenBLAS's own %.1f)", 100*res.SgemmFractionOfOpenBLAS, res.Sgemm1024NativeGFLOPS)
	}
	if res.SNNItemsTimestepsPerS > 0 {
		fmt.Fprintf(stdout, "\nsnn T=%d batch %d   %8.0f images·steps/s (dense path %.0f, %.1f× faster)",
			res.SNNTimesteps, res.SNNBatch, res.SNNItemsTimestepsPerS, res.SNNDenseItemsTimestepsPerS, res.SNNItemsTimestepsPerS/res.SNNDenseItemsTimestepsPerS)
	}
	fmt.Fprintf(stdout, "\nbackend %s %s, conv %s, %d threads\n", res.Backend.Backend, res.Backend.Core, res.ConvBackend, res.Threads)
	return nil
}

// snnWorkload is a spiking model and its input images, checked before any
// measuring starts.
type snnWorkload struct {
	dir string
	net *snn.Network
	x   *tensor.Tensor
}

func loadSNNWorkload(dir string, T, batch int) (*snnWorkload, error) {
	m, card, err := loadModel(dir, "snn", modelfile.KindSNN)
	if err != nil {
		return nil, err
	}
	cfg := card.SNN.Config
	if T > 0 {
		cfg.Timesteps = T
	}
	net, err := snn.New(m, cfg)
	if err != nil {
		return nil, err
	}
	s, err := data.LoadEmbedded(data.Test)
	if err != nil {
		return nil, err
	}
	c := m.Config
	if s.Channels != c.InChannels || s.Height != c.InHeight || s.Width != c.InWidth {
		return nil, fmt.Errorf("%w: the SNN workload uses the embedded 28×28 grey images; %s expects %d×%d×%d", errUsage, dir, c.InChannels, c.InHeight, c.InWidth)
	}
	return &snnWorkload{dir: dir, net: net, x: setTensor(s.Subset(firstN(batch)))}, nil
}

func benchSNN(ctx context.Context, res *benchResult, sw *snnWorkload, minTime time.Duration, pr *progress) error {
	net, x := sw.net, sw.x
	batch := x.Shape[0]
	res.SNNTimesteps, res.SNNBatch, res.SNNModel, res.SNNKernel = net.Config.Timesteps, batch, sw.dir, snn.KernelName
	r, err := net.Run(ctx, x, rand.New(rand.NewPCG(1, 1)), snn.Options{})
	if err != nil {
		return err
	}
	for l := range r.Layers[:len(r.Layers)-1] {
		res.SNNSpikeRates = append(res.SNNSpikeRates, r.SpikeRate(l))
	}
	for _, w := range []struct {
		dst  *float64
		path snn.Path
		name string
	}{{&res.SNNItemsTimestepsPerS, snn.Auto, "snn (event-driven where sparse)"}, {&res.SNNDenseItemsTimestepsPerS, snn.Dense, "snn (dense)"}} {
		if err := ctx.Err(); err != nil {
			return err
		}
		pr.line("measuring %s, T=%d, batch %d…", w.name, net.Config.Timesteps, batch)
		step := workload.SNNStep(net, x, w.path)
		d := workload.Median(step.Run, 1, minTime)
		*w.dst = float64(batch*net.Config.Timesteps) / d.Seconds()
	}
	return nil
}

func firstN(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}
