package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os/exec"
	"runtime"
	"slices"
	"strings"
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
	BPTTEncoder      string    `json:"bptt_encoder,omitempty"` // "poisson" or "direct"
	BPTTBurst        int       `json:"bptt_burst,omitempty"`   // at most this many spikes per step; omitted for 1
	BPTTSigned       bool      `json:"bptt_signed,omitempty"`
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

// MeasureBPTT times the BPTT training step of BPTTNetOf(T, nr) on the
// images x with their labels, in this process, whose peak RSS is then the
// workload's: run it alone.
func MeasureBPTT(ctx context.Context, res *BPTTResult, T int, nr BPTTNeuron, x *tensor.Tensor, labels []int32, runs int, minTime time.Duration, p progress.Func) error {
	net, err := BPTTNetOf(T, nr)
	if err != nil {
		return err
	}
	res.BPTTEncoder, res.BPTTSigned = net.Config.Encoder.String(), nr.Signed
	if nr.Burst > 1 {
		res.BPTTBurst = nr.Burst
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

// WriteText writes the result as the bench command prints it; ann, sgemm
// and bptt say which of those workloads ran.
func (res *Result) WriteText(w io.Writer, ann, sgemm, bptt bool) {
	if ann {
		fmt.Fprintf(w, "ann train step      %8.1f items/s\n", res.ANNTrainStepItemsPerS)
		fmt.Fprintf(w, "ann input gradient  %8.1f items/s\n", res.ANNInputGradItemsPerS)
	}
	if sgemm {
		fmt.Fprintf(w, "sgemm 1024³         %8.1f GFLOP/s", res.Sgemm1024GFLOPS)
		if res.Sgemm1024NativeGFLOPS > 0 {
			fmt.Fprintf(w, " (%.0f%% of OpenBLAS's own %.1f)", 100*res.SgemmFractionOfOpenBLAS, res.Sgemm1024NativeGFLOPS)
		}
		fmt.Fprintln(w)
	}
	if res.SNNItemsTimestepsPerS > 0 {
		fmt.Fprintf(w, "snn T=%d batch %d   %8.0f images·steps/s (dense path %.0f, %.1f× faster)\n",
			res.SNNTimesteps, res.SNNBatch, res.SNNItemsTimestepsPerS, res.SNNDenseItemsTimestepsPerS, res.SNNItemsTimestepsPerS/res.SNNDenseItemsTimestepsPerS)
	}
	if bptt {
		fmt.Fprintf(w, "bptt T=%d batch %d  %8.1f items/s (%.0f ms a step), peak RSS %.0f MiB (%.0f MiB before the first step; %s)\n",
			res.BPTTTimesteps, res.BPTTBatch, res.BPTTItemsPerS, res.BPTTMedianMS, res.BPTTPeakRSSMiB, res.BPTTRSSBeforeMiB, res.BPTTRSSMethod)
		fmt.Fprintf(w, "bptt spike rates    %s\n", formatRates(res.BPTTSpikeRates))
	}
	if loads := otherLoads(res.OtherCPULoad); loads != "" {
		fmt.Fprintf(w, "competing CPU load  %s\n", loads)
	}
	fmt.Fprintf(w, "backend %s %s, conv %s, %d threads\n", res.Backend.Backend, res.Backend.Core, res.ConvBackend, res.Threads)
}

// formatRates prints spike rates as percentages.
func formatRates(r []float64) string {
	f := make([]string, len(r))
	for i, v := range r {
		f[i] = fmt.Sprintf("%.2f%%", 100*v)
	}
	return strings.Join(f, " ")
}

// otherLoads lists the workloads whose timing competed with other
// processes (other_cpu_load above 5 %).
func otherLoads(m map[string]float64) string {
	var f []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] > 0.05 {
			f = append(f, fmt.Sprintf("%s %.0f%%", k, 100*m[k]))
		}
	}
	if len(f) == 0 {
		return ""
	}
	return strings.Join(f, ", ") + " of the machine used by other processes (results disturbed)"
}

// Workloads of a benchmark.
const (
	WorkANN   = "ann"
	WorkSNN   = "snn"
	WorkSgemm = "sgemm"
	WorkBPTT  = "bptt"
)

// Selection is the set of workloads a benchmark runs, written as a
// comma-separated list ("ann,bptt"); empty selects all. It is a
// flag.Value.
type Selection map[string]bool

// Set implements flag.Value.
func (s *Selection) Set(text string) error {
	all := []string{WorkANN, WorkSNN, WorkSgemm, WorkBPTT}
	sel := Selection{}
	for _, f := range strings.Split(text, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(all, f) {
			return fmt.Errorf("unknown workload %q (want a comma-separated subset of %s)", f, strings.Join(all, ","))
		}
		sel[f] = true
	}
	*s = sel
	return nil
}

// String implements flag.Value.
func (s *Selection) String() string {
	if s == nil {
		return ""
	}
	return strings.Join(slices.Sorted(maps.Keys(*s)), ",")
}

// Settings are a benchmark: the workloads and their sizes, with the
// inputs the caller loaded.
type Settings struct {
	// Only is the workloads to run (nil: all; SNN only when SNNNet is set).
	Only    Selection
	Batch   int
	MinTime time.Duration
	// SNNNet, SNNModel and SNNInput are the spiking model to simulate, its
	// name and its images.
	SNNNet   *snn.Network
	SNNModel string
	SNNInput *tensor.Tensor
	// BPTT workload: T, images and labels, and the minimum timed steps.
	BPTTSteps  int
	BPTTInput  *tensor.Tensor
	BPTTLabels []int32
	BPTTRuns   int
	// BPTTNeuron varies the BPTT workload's neurons and input.
	BPTTNeuron BPTTNeuron
	// BPTTChild, when not nil, returns the command of a child process that
	// runs the BPTT workload alone and prints its Result as JSON, so that
	// its peak RSS is its own; nil runs it in this process.
	BPTTChild func(ctx context.Context) *exec.Cmd
}

// Runs reports whether the benchmark runs the workload w.
func (s Settings) Runs(w string) bool { return s.Only == nil || s.Only[w] }

// Bench runs the selected workloads. p receives an event before each.
func Bench(ctx context.Context, s Settings, p progress.Func) (*Result, error) {
	res := NewResult(s.Batch)
	if s.Runs(WorkANN) {
		if err := MeasureANN(ctx, res, s.MinTime, p); err != nil {
			return nil, err
		}
	}
	if s.SNNNet != nil && s.Runs(WorkSNN) {
		if err := MeasureSNN(ctx, res, s.SNNNet, s.SNNModel, s.SNNInput, s.MinTime, p); err != nil {
			return nil, err
		}
	}
	if s.Runs(WorkSgemm) {
		if err := MeasureSgemm(ctx, res, s.MinTime, p); err != nil {
			return nil, err
		}
	}
	if !s.Runs(WorkBPTT) {
		return res, nil
	}
	var err error
	if s.BPTTChild == nil {
		err = MeasureBPTT(ctx, &res.BPTTResult, s.BPTTSteps, s.BPTTNeuron, s.BPTTInput, s.BPTTLabels, s.BPTTRuns, s.MinTime, p)
	} else {
		err = measureBPTTChild(ctx, &res.BPTTResult, s.BPTTChild(ctx), p)
	}
	if err != nil {
		return nil, err
	}
	if res.BPTTOtherCPULoad != nil {
		res.OtherCPULoad["bptt_train_step"] = *res.BPTTOtherCPULoad
	}
	return res, nil
}

// measureBPTTChild runs the child process of the BPTT workload and takes
// its result from its JSON output and its peak RSS from wait4's rusage,
// as bench_torch.py does with RUSAGE_CHILDREN.
func measureBPTTChild(ctx context.Context, res *BPTTResult, cmd *exec.Cmd, p progress.Func) error {
	if err := p.Report(progress.Report{Label: "starting a child process for the bptt training step…"}); err != nil {
		return err
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("bptt workload child process: %w", err)
	}
	var child struct {
		BPTTResult
		OtherCPULoad map[string]float64 `json:"other_cpu_load"`
	}
	if err := json.Unmarshal(out.Bytes(), &child); err != nil {
		return fmt.Errorf("bptt workload child process: %w", err)
	}
	*res = child.BPTTResult
	if v, ok := child.OtherCPULoad["bptt_train_step"]; ok {
		res.BPTTOtherCPULoad = &v
	}
	if rss := ChildPeakRSS(cmd.ProcessState); rss > 0 {
		res.BPTTPeakRSSMiB = float64(rss) / mib
		res.BPTTRSSMethod = "ru_maxrss of a child process that ran only this workload (privatesnn bench --only bptt), from wait4"
	}
	return nil
}
