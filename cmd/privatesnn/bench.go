package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/internal/workload"
)

// benchResult mirrors the JSON printed by scripts/bench_torch.py.
type benchResult struct {
	Framework               string    `json:"framework"`
	Threads                 int       `json:"threads"`
	Batch                   int       `json:"batch"`
	ANNTrainStepItemsPerS   float64   `json:"ann_train_step_items_per_s"`
	ANNInputGradItemsPerS   float64   `json:"ann_input_grad_items_per_s"`
	Sgemm1024GFLOPS         float64   `json:"sgemm_1024_gflops"`
	Sgemm1024NativeGFLOPS   float64   `json:"sgemm_1024_openblas_native_gflops,omitempty"`
	SgemmFractionOfOpenBLAS float64   `json:"sgemm_fraction_of_openblas,omitempty"`
	Backend                 gemm.Info `json:"backend"`
	GoVersion               string    `json:"go"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		threads int
		batch   int
		minTime time.Duration
		jsonOut bool
	)
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&threads, "threads", 2, "threads to use (0: all cores); compare with PyTorch at the same count")
	fs.IntVar(&batch, "batch", 64, "batch size of the network workloads")
	fs.DurationVar(&minTime, "time", 3*time.Second, "minimum measuring time per workload")
	fs.BoolVar(&jsonOut, "json", false, "print the result as one JSON object")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if batch < 1 || batch > 4096 || minTime <= 0 {
		return fmt.Errorf("%w: --batch %d or --time %v out of range", errUsage, batch, minTime)
	}
	if err := setThreads(threads); err != nil {
		return err
	}
	pr := newProgress(stderr, false)
	res := benchResult{Framework: "privatesnn", Threads: runtime.GOMAXPROCS(0), Batch: batch, Backend: gemm.CurrentInfo(), GoVersion: runtime.Version()}
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
	fmt.Fprintf(stdout, "\nbackend %s %s, %d threads\n", res.Backend.Backend, res.Backend.Core, res.Threads)
	return nil
}
