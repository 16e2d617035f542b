package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/internal/workload"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

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
	var net *snn.Network
	if o.snnDir != "" && o.sel[wSNN] {
		m, err := loadModel(o.snnDir, "snn", modelfile.KindSNN)
		if err == nil {
			net, err = m.Spiking(o.snnT)
		}
		if err != nil {
			return err
		}
	}
	pr := newProgress(stderr, o.quiet)
	res := workload.NewResult(o.batch)
	if err := o.measure(ctx, res, net, stderr, pr); err != nil {
		return err
	}
	if o.jsonOut {
		return writeJSON(stdout, res)
	}
	printBench(stdout, res, o.sel)
	return nil
}

// measure runs the selected workloads into res.
func (o *benchOptions) measure(ctx context.Context, res *workload.Result, net *snn.Network, stderr io.Writer, pr *display) error {
	p := pr.reporter()
	if o.sel[wANN] {
		if err := workload.MeasureANN(ctx, res, o.minTime, p); err != nil {
			return err
		}
	}
	if net != nil {
		x, _, err := embeddedBatch(o.snnB, net.Model.Config.InChannels, net.Model.Config.InHeight, net.Model.Config.InWidth, o.snnDir)
		if err != nil {
			return err
		}
		if err := workload.MeasureSNN(ctx, res, net, o.snnDir, x, o.minTime, p); err != nil {
			return err
		}
	}
	if o.sel[wSgemm] {
		if err := workload.MeasureSgemm(ctx, res, o.minTime, p); err != nil {
			return err
		}
	}
	if !o.sel[wBPTT] {
		return nil
	}
	var err error
	if len(o.sel) == 1 {
		var x *tensor.Tensor
		var labels []int32
		if x, labels, err = embeddedBatch(o.bpttB, 1, 28, 28, ""); err == nil {
			err = workload.MeasureBPTT(ctx, &res.BPTTResult, o.bpttT, x, labels, o.bpttRuns, o.minTime, p)
		}
	} else {
		// The other workloads have grown this process's heap: run the
		// BPTT step in a child process so that its peak RSS is its own.
		err = o.bpttChild(ctx, &res.BPTTResult, stderr, pr)
	}
	if err != nil {
		return err
	}
	if res.BPTTOtherCPULoad != nil {
		res.OtherCPULoad["bptt_train_step"] = *res.BPTTOtherCPULoad
	}
	return nil
}

// embeddedBatch returns the first n embedded test images, normalised, for
// a model (named model, for errors) that reads c×h×w images.
func embeddedBatch(n, c, h, w int, model string) (*tensor.Tensor, []int32, error) {
	s, err := data.LoadEmbedded(data.Test)
	if err != nil {
		return nil, nil, err
	}
	if s.Channels != c || s.Height != h || s.Width != w {
		return nil, nil, fmt.Errorf("%w: the SNN workload uses the embedded 28×28 grey images; %s expects %d×%d×%d", errUsage, model, c, h, w)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sub := s.Subset(idx)
	return sub.Tensor(nil, data.Table), sub.Labels, nil
}

func printBench(w io.Writer, res *workload.Result, sel map[string]bool) {
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

// bpttChild runs the BPTT workload in a child process (this executable
// with --only bptt) and takes its peak RSS from wait4's rusage, as
// bench_torch.py does with RUSAGE_CHILDREN.
func (o *benchOptions) bpttChild(ctx context.Context, res *workload.BPTTResult, stderr io.Writer, pr *display) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bptt workload: cannot re-execute this program: %w", err)
	}
	pr.line("starting a child process for the bptt training step…")
	cmd := exec.CommandContext(ctx, exe, "bench", "--only", wBPTT, "--json", "--threads", strconv.Itoa(o.threads),
		"--bptt-timesteps", strconv.Itoa(o.bpttT), "--bptt-batch", strconv.Itoa(o.bpttB), "--bptt-runs", strconv.Itoa(o.bpttRuns),
		"--time", o.minTime.String())
	if o.quiet {
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
		workload.BPTTResult
		OtherCPULoad map[string]float64 `json:"other_cpu_load"`
	}
	if err := json.Unmarshal(out.Bytes(), &child); err != nil {
		return fmt.Errorf("bptt workload child process: %w", err)
	}
	*res = child.BPTTResult
	if v, ok := child.OtherCPULoad["bptt_train_step"]; ok {
		res.BPTTOtherCPULoad = &v
	}
	if rss := workload.ChildPeakRSS(cmd.ProcessState); rss > 0 {
		res.BPTTPeakRSSMiB = float64(rss) / (1 << 20)
		res.BPTTRSSMethod = "ru_maxrss of a child process that ran only this workload (privatesnn bench --only bptt), from wait4"
	}
	return nil
}
