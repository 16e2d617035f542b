package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// Result is a benchmark's record; it mirrors the JSON printed by
// scripts/bench_torch.py. Workloads that were not run are omitted.
type Result struct {
	Framework                  string    `json:"framework"`
	Threads                    int       `json:"threads"`
	Batch                      int       `json:"batch"`
	ANNTrainStepItemsPerS      float64   `json:"ann_train_step_items_per_s,omitempty"`
	ANNInputGradItemsPerS      float64   `json:"ann_input_grad_items_per_s,omitempty"`
	Sgemm1024GFLOPS            float64   `json:"sgemm_1024_gflops,omitempty"`
	Sgemm1024NativeGFLOPS      float64   `json:"sgemm_1024_openblas_native_gflops,omitempty"`
	SgemmFractionOfOpenBLAS    float64   `json:"sgemm_fraction_of_openblas,omitempty"`
	SNNItemsTimestepsPerS      float64   `json:"snn_items_timesteps_per_s,omitempty"`
	SNNDenseItemsTimestepsPerS float64   `json:"snn_dense_items_timesteps_per_s,omitempty"`
	SNNTimesteps               int       `json:"snn_timesteps,omitempty"`
	SNNBatch                   int       `json:"snn_batch,omitempty"`
	SNNModel                   string    `json:"snn_model,omitempty"`
	SNNKernel                  string    `json:"snn_kernel,omitempty"`
	SNNSpikeRates              []float64 `json:"snn_spike_rates,omitempty"`
	BPTTResult
	// OtherCPULoad is, per workload, the share of the machine's CPU time
	// other processes used while it was timed (as bench_torch.py's
	// other_cpu_load; -1 where /proc/stat cannot be read).
	OtherCPULoad map[string]float64 `json:"other_cpu_load,omitempty"`
	Backend      gemm.Info          `json:"backend"`
	ConvBackend  string             `json:"conv_backend"`
	GoVersion    string             `json:"go"`
}

// BPTTResult is the BPTT training-step workload's part of a Result, the
// part a child process running only that workload hands to its parent.
type BPTTResult struct {
	BPTTItemsPerS    float64   `json:"bptt_train_step_items_per_s,omitempty"`
	BPTTMedianMS     float64   `json:"bptt_train_step_median_ms,omitempty"`
	BPTTRuns         int       `json:"bptt_runs,omitempty"`
	BPTTTimesteps    int       `json:"bptt_timesteps,omitempty"`
	BPTTBatch        int       `json:"bptt_batch,omitempty"`
	BPTTThresholds   []float32 `json:"bptt_thresholds,omitempty"`
	BPTTSpikeRates   []float64 `json:"bptt_spike_rates,omitempty"`
	BPTTPeakRSSMiB   float64   `json:"bptt_peak_rss_mib,omitempty"`
	BPTTRSSBeforeMiB float64   `json:"bptt_rss_before_mib,omitempty"`
	BPTTRSSMethod    string    `json:"bptt_rss_method,omitempty"`
	BPTTTapeMiB      float64   `json:"bptt_tape_mib,omitempty"`
	BPTTOtherCPULoad *float64  `json:"-"`
}

// NewResult returns the record of a benchmark of the default network at
// the given batch, with the machine's settings.
func NewResult(batch int) *Result {
	return &Result{Framework: "privatesnn", Threads: runtime.GOMAXPROCS(0), Batch: batch, Backend: gemm.CurrentInfo(),
		ConvBackend: nn.ConvBackend(), GoVersion: runtime.Version(), OtherCPULoad: map[string]float64{}}
}

// MeasureANN times the default network's training step and input-gradient
// step at res.Batch, each for at least minTime.
func MeasureANN(ctx context.Context, res *Result, minTime time.Duration, p progress.Func) error {
	m := DefaultNet()
	for _, s := range []struct {
		name, key string
		dst       *float64
		step      Step
	}{
		{"ann train step", "ann_train_step", &res.ANNTrainStepItemsPerS, TrainStep(m, res.Batch)},
		{"ann input gradient", "ann_input_grad", &res.ANNInputGradItemsPerS, InputGradStep(m, res.Batch)},
	} {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.Report(progress.Report{Label: fmt.Sprintf("measuring %s (batch %d, %d threads)…", s.name, res.Batch, res.Threads)}); err != nil {
			return err
		}
		tm := Measure(s.step.Run, 5, 5, minTime)
		*s.dst = float64(s.step.Batch) / tm.Median.Seconds()
		res.OtherCPULoad[s.key] = tm.OtherLoad
	}
	return nil
}

// MeasureSgemm times a 1024³ SGEMM and compares it with OpenBLAS's own.
func MeasureSgemm(ctx context.Context, res *Result, minTime time.Duration, p progress.Func) error {
	if err := p.Report(progress.Report{Label: "measuring sgemm 1024³…"}); err != nil {
		return err
	}
	tm := Measure(SgemmStep(1024), 3, 5, minTime)
	res.Sgemm1024GFLOPS = 2 * 1024 * 1024 * 1024 / tm.Median.Seconds() / 1e9
	res.OtherCPULoad["sgemm_1024"] = tm.OtherLoad
	if g, ok := gemm.NativeSgemmGFLOPS(1024, 40); ok {
		res.Sgemm1024NativeGFLOPS = g
		res.SgemmFractionOfOpenBLAS = res.Sgemm1024GFLOPS / g
	}
	return ctx.Err()
}

// MeasureSNN times the simulation of net (named model) on the images x,
// event-driven where sparse and dense.
func MeasureSNN(ctx context.Context, res *Result, net *snn.Network, model string, x *tensor.Tensor, minTime time.Duration, p progress.Func) error {
	batch := x.Shape[0]
	res.SNNTimesteps, res.SNNBatch, res.SNNModel, res.SNNKernel = net.Config.Timesteps, batch, model, snn.KernelName
	r, err := net.Run(ctx, x, rand.New(rand.NewPCG(1, 1)), snn.Options{})
	if err != nil {
		return err
	}
	for l := range r.Layers[:len(r.Layers)-1] {
		res.SNNSpikeRates = append(res.SNNSpikeRates, r.SpikeRate(l))
	}
	for _, w := range []struct {
		dst       *float64
		path      snn.Path
		name, key string
	}{{&res.SNNItemsTimestepsPerS, snn.Auto, "snn (event-driven where sparse)", "snn"}, {&res.SNNDenseItemsTimestepsPerS, snn.Dense, "snn (dense)", "snn_dense"}} {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.Report(progress.Report{Label: fmt.Sprintf("measuring %s, T=%d, batch %d…", w.name, net.Config.Timesteps, batch)}); err != nil {
			return err
		}
		tm := Measure(SNNStep(net, x, w.path).Run, 1, 5, minTime)
		*w.dst = float64(batch*net.Config.Timesteps) / tm.Median.Seconds()
		res.OtherCPULoad[w.key] = tm.OtherLoad
	}
	return nil
}

const mib = 1 << 20

// MeasureBPTT times the BPTT training step of BPTTNet(T) on the images x
// with their labels, in this process, whose peak RSS is then the
// workload's: run it alone.
func MeasureBPTT(ctx context.Context, res *BPTTResult, T int, x *tensor.Tensor, labels []int32, runs int, minTime time.Duration, p progress.Func) error {
	net, err := BPTTNet(T)
	if err != nil {
		return err
	}
	batch := x.Shape[0]
	bp := NewBPTT(net, x, labels)
	step := bp.Step(ctx)
	res.BPTTTimesteps, res.BPTTBatch, res.BPTTThresholds = T, batch, net.Config.Thresholds
	res.BPTTRSSBeforeMiB = float64(CurrentRSS()) / mib
	if err := p.Report(progress.Report{Label: fmt.Sprintf("measuring bptt training step, T=%d, batch %d, %d threads…", T, batch, runtime.GOMAXPROCS(0))}); err != nil {
		return err
	}
	if err := bp.Run(ctx); err != nil { // warm-up; its spike rates are the untrained network's
		return err
	}
	res.BPTTSpikeRates = bp.SpikeRates()
	res.BPTTTapeMiB = float64(bp.Last.Bytes()) / mib
	tm := Measure(step.Run, 0, runs, minTime)
	if err := ctx.Err(); err != nil {
		return err
	}
	res.BPTTItemsPerS = float64(batch) / tm.Median.Seconds()
	res.BPTTMedianMS = tm.Median.Seconds() * 1e3
	res.BPTTRuns = tm.Runs
	res.BPTTOtherCPULoad = &tm.OtherLoad
	res.BPTTPeakRSSMiB = float64(PeakRSS()) / mib
	res.BPTTRSSMethod = "getrusage(RUSAGE_SELF) ru_maxrss of a process that ran only this workload (--only bptt)"
	return nil
}
