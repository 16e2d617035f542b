package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/internal/workload"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// benchResult mirrors the JSON printed by scripts/bench_torch.py. Workloads
// left out with --only are omitted.
type benchResult struct {
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
	bpttResult
	// OtherCPULoad is, per workload, the share of the machine's CPU time
	// other processes used while it was timed (as bench_torch.py's
	// other_cpu_load; -1 where /proc/stat cannot be read).
	OtherCPULoad map[string]float64 `json:"other_cpu_load,omitempty"`
	Backend      gemm.Info          `json:"backend"`
	ConvBackend  string             `json:"conv_backend"`
	GoVersion    string             `json:"go"`
}

// bpttResult is the BPTT training-step workload's part of benchResult, the
// part a child process running only that workload hands to its parent.
type bpttResult struct {
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

// Workload names of --only.
const (
	wANN   = "ann"
	wSNN   = "snn"
	wSgemm = "sgemm"
	wBPTT  = "bptt"
)

func parseOnly(s string) (map[string]bool, error) {
	all := []string{wANN, wSNN, wSgemm, wBPTT}
	sel := map[string]bool{}
	if s == "" {
		for _, w := range all {
			sel[w] = true
		}
		return sel, nil
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(all, f) {
			return nil, fmt.Errorf("%w: --only %q: unknown workload %q (want a comma-separated subset of %s)", errUsage, s, f, strings.Join(all, ","))
		}
		sel[f] = true
	}
	return sel, nil
}

// benchOptions are the bench command's settings.
type benchOptions struct {
	b                      bounds
	threads, batch         int
	minTime                time.Duration
	jsonOut, quiet         bool
	snnDir, only           string
	snnT, snnB             int
	bpttT, bpttB, bpttRuns int
	sel                    map[string]bool
}

func (o *benchOptions) register(fs *flag.FlagSet) {
	fs.IntVar(&o.threads, "threads", 2, "threads to use (0: all cores); compare with PyTorch at the same count")
	o.b.Int(fs, &o.batch, "batch", 64, 1, 4096, "batch size of the network workloads")
	fs.DurationVar(&o.minTime, "time", 3*time.Second, "minimum measuring time per workload (> 0)")
	fs.BoolVar(&o.jsonOut, "json", false, "print the result as one JSON object")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress on stderr")
	fs.StringVar(&o.snnDir, "snn", "", "also time the simulation of this spiking model (from 'privatesnn convert') on the embedded test images")
	o.b.Int(fs, &o.snnT, "snn-timesteps", 0, 0, snn.MaxTimesteps, "time steps of the SNN workload (0: the model's T)")
	o.b.Int(fs, &o.snnB, "snn-batch", 64, 1, 1000, "images per SNN simulation (the embedded test set has 1,000)")
	fs.StringVar(&o.only, "only", "", "run only these workloads, comma-separated: ann, snn, sgemm, bptt (default: all; snn needs --snn)")
	o.b.Int(fs, &o.bpttT, "bptt-timesteps", 50, 1, snn.MaxTimesteps, "time steps T of the BPTT training-step workload")
	o.b.Int(fs, &o.bpttB, "bptt-batch", 64, 1, 1000, "images per BPTT training step (the embedded test set has 1,000)")
	o.b.Int(fs, &o.bpttRuns, "bptt-runs", 3, 1, 1000, "minimum timed BPTT steps (after one warm-up step)")
}

func (o *benchOptions) validate() error {
	if err := o.b.check(); err != nil {
		return err
	}
	if o.minTime <= 0 {
		return fmt.Errorf("%w: --time %v: want a positive duration", errUsage, o.minTime)
	}
	sel, err := parseOnly(o.only)
	if err != nil {
		return err
	}
	if o.only != "" && sel[wSNN] && o.snnDir == "" {
		return fmt.Errorf("%w: --only %s needs --snn DIR", errUsage, o.only)
	}
	o.sel = sel
	return setThreads(o.threads)
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o benchOptions
	fs := newFlagSet("bench")
	o.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	var sw *snnWorkload
	if o.snnDir != "" && o.sel[wSNN] {
		var err error
		if sw, err = loadSNNWorkload(o.snnDir, o.snnT, o.snnB); err != nil {
			return err
		}
	}
	pr := newProgress(stderr, o.quiet)
	res := benchResult{Framework: "privatesnn", Threads: runtime.GOMAXPROCS(0), Batch: o.batch, Backend: gemm.CurrentInfo(),
		ConvBackend: nn.ConvBackend(), GoVersion: runtime.Version(), OtherCPULoad: map[string]float64{}}
	if err := o.measure(ctx, &res, sw, stderr, pr); err != nil {
		return err
	}
	if o.jsonOut {
		return writeJSON(stdout, res)
	}
	printBench(stdout, res, o.sel)
	return nil
}

// measure runs the selected workloads into res.
func (o *benchOptions) measure(ctx context.Context, res *benchResult, sw *snnWorkload, stderr io.Writer, pr *display) error {
	if o.sel[wANN] {
		m := workload.DefaultNet()
		steps := []struct {
			name, key string
			dst       *float64
			step      workload.Step
		}{
			{"ann train step", "ann_train_step", &res.ANNTrainStepItemsPerS, workload.TrainStep(m, o.batch)},
			{"ann input gradient", "ann_input_grad", &res.ANNInputGradItemsPerS, workload.InputGradStep(m, o.batch)},
		}
		for _, s := range steps {
			if err := ctx.Err(); err != nil {
				return err
			}
			pr.line("measuring %s (batch %d, %d threads)…", s.name, o.batch, res.Threads)
			tm := workload.Measure(s.step.Run, 5, 5, o.minTime)
			*s.dst = float64(s.step.Batch) / tm.Median.Seconds()
			res.OtherCPULoad[s.key] = tm.OtherLoad
		}
	}
	if sw != nil {
		if err := benchSNN(ctx, res, sw, o.minTime, pr); err != nil {
			return err
		}
	}
	if o.sel[wSgemm] {
		pr.line("measuring sgemm 1024³…")
		tm := workload.Measure(workload.SgemmStep(1024), 3, 5, o.minTime)
		res.Sgemm1024GFLOPS = 2 * 1024 * 1024 * 1024 / tm.Median.Seconds() / 1e9
		res.OtherCPULoad["sgemm_1024"] = tm.OtherLoad
		if g, ok := gemm.NativeSgemmGFLOPS(1024, 40); ok {
			res.Sgemm1024NativeGFLOPS = g
			res.SgemmFractionOfOpenBLAS = res.Sgemm1024GFLOPS / g
		}
	}
	if !o.sel[wBPTT] {
		return nil
	}
	var err error
	if len(o.sel) == 1 {
		err = benchBPTT(ctx, &res.bpttResult, o.bpttT, o.bpttB, o.bpttRuns, o.minTime, pr)
	} else {
		// The other workloads have grown this process's heap: run the
		// BPTT step in a child process so that its peak RSS is its own.
		err = benchBPTTChild(ctx, &res.bpttResult, stderr, o.quiet, o.threads, o.bpttT, o.bpttB, o.bpttRuns, o.minTime, pr)
	}
	if err != nil {
		return err
	}
	if res.BPTTOtherCPULoad != nil {
		res.OtherCPULoad["bptt_train_step"] = *res.BPTTOtherCPULoad
	}
	return nil
}

func printBench(w io.Writer, res benchResult, sel map[string]bool) {
	if sel[wANN] {
		fmt.Fprintf(w, "ann train step      %8.1f items/s\n", res.ANNTrainStepItemsPerS)
		fmt.Fprintf(w, "ann input gradient  %8.1f items/s\n", res.ANNInputGradItemsPerS)
	}
	if sel[wSgemm] {
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
	if sel[wBPTT] {
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

const mib = 1 << 20

// benchBPTT times the BPTT training step in this process, whose peak RSS
// is then the workload's: run it with --only bptt, alone.
func benchBPTT(ctx context.Context, res *bpttResult, T, batch, runs int, minTime time.Duration, pr *display) error {
	net, err := workload.BPTTNet(T)
	if err != nil {
		return err
	}
	s, err := data.LoadEmbedded(data.Test)
	if err != nil {
		return err
	}
	sub := s.Subset(firstN(batch))
	bp := workload.NewBPTT(net, sub.Tensor(nil, data.Table), sub.Labels)
	step := bp.Step(ctx)
	res.BPTTTimesteps, res.BPTTBatch, res.BPTTThresholds = T, batch, net.Config.Thresholds
	res.BPTTRSSBeforeMiB = float64(workload.CurrentRSS()) / mib
	pr.line("measuring bptt training step, T=%d, batch %d, %d threads…", T, batch, runtime.GOMAXPROCS(0))
	if err := bp.Run(ctx); err != nil { // warm-up; its spike rates are the untrained network's
		return err
	}
	res.BPTTSpikeRates = bp.SpikeRates()
	res.BPTTTapeMiB = float64(bp.Last.Bytes()) / mib
	tm := workload.Measure(step.Run, 0, runs, minTime)
	if err := ctx.Err(); err != nil {
		return err
	}
	res.BPTTItemsPerS = float64(batch) / tm.Median.Seconds()
	res.BPTTMedianMS = tm.Median.Seconds() * 1e3
	res.BPTTRuns = tm.Runs
	res.BPTTOtherCPULoad = &tm.OtherLoad
	res.BPTTPeakRSSMiB = float64(workload.PeakRSS()) / mib
	res.BPTTRSSMethod = "getrusage(RUSAGE_SELF) ru_maxrss of a process that ran only this workload (--only bptt)"
	return nil
}

// benchBPTTChild runs the BPTT workload in a child process (this
// executable with --only bptt) and takes its peak RSS from wait4's
// rusage, as bench_torch.py does with RUSAGE_CHILDREN.
func benchBPTTChild(ctx context.Context, res *bpttResult, stderr io.Writer, quiet bool, threads, T, batch, runs int, minTime time.Duration, pr *display) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bptt workload: cannot re-execute this program: %w", err)
	}
	pr.line("starting a child process for the bptt training step…")
	cmd := exec.CommandContext(ctx, exe, "bench", "--only", wBPTT, "--json", "--threads", strconv.Itoa(threads),
		"--bptt-timesteps", strconv.Itoa(T), "--bptt-batch", strconv.Itoa(batch), "--bptt-runs", strconv.Itoa(runs),
		"--time", minTime.String())
	if quiet {
		cmd.Args = append(cmd.Args, "--quiet")
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("bptt workload child process: %w", err)
	}
	var child struct {
		bpttResult
		OtherCPULoad map[string]float64 `json:"other_cpu_load"`
	}
	if err := json.Unmarshal(out.Bytes(), &child); err != nil {
		return fmt.Errorf("bptt workload child process: %w", err)
	}
	*res = child.bpttResult
	if v, ok := child.OtherCPULoad["bptt_train_step"]; ok {
		res.BPTTOtherCPULoad = &v
	}
	if rss := workload.ChildPeakRSS(cmd.ProcessState); rss > 0 {
		res.BPTTPeakRSSMiB = float64(rss) / mib
		res.BPTTRSSMethod = "ru_maxrss of a child process that ran only this workload (privatesnn bench --only bptt), from wait4"
	}
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
	return &snnWorkload{dir: dir, net: net, x: s.Subset(firstN(batch)).Tensor(nil, data.Table)}, nil
}

func benchSNN(ctx context.Context, res *benchResult, sw *snnWorkload, minTime time.Duration, pr *display) error {
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
		dst       *float64
		path      snn.Path
		name, key string
	}{{&res.SNNItemsTimestepsPerS, snn.Auto, "snn (event-driven where sparse)", "snn"}, {&res.SNNDenseItemsTimestepsPerS, snn.Dense, "snn (dense)", "snn_dense"}} {
		if err := ctx.Err(); err != nil {
			return err
		}
		pr.line("measuring %s, T=%d, batch %d…", w.name, net.Config.Timesteps, batch)
		step := workload.SNNStep(net, x, w.path)
		tm := workload.Measure(step.Run, 1, 5, minTime)
		*w.dst = float64(batch*net.Config.Timesteps) / tm.Median.Seconds()
		res.OtherCPULoad[w.key] = tm.OtherLoad
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
