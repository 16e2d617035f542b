package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/internal/workload"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		s                 = workload.Settings{BPTTSteps: 50, BPTTRuns: 3}
		b                 bounds
		out               output
		snnDir            string
		snnT, snnB, bpttB int
	)
	fs := newFlagSet("bench")
	fs.IntVar(&out.threads, "threads", 2, "threads to use (0: all cores); compare with PyTorch at the same count")
	b.Int(fs, &s.Batch, "batch", 64, 1, 4096, "batch size of the network workloads")
	fs.DurationVar(&s.MinTime, "time", 3*time.Second, "minimum measuring time per workload (> 0)")
	fs.BoolVar(&out.json, "json", false, "print the result as one JSON object")
	fs.BoolVar(&out.quiet, "quiet", false, "no progress on stderr")
	fs.StringVar(&snnDir, "snn", "", "also time the simulation of this spiking model (from 'privatesnn convert') on the embedded test images")
	b.Int(fs, &snnT, "snn-timesteps", 0, 0, snn.MaxTimesteps, "time steps of the SNN workload (0: the model's T)")
	b.Int(fs, &snnB, "snn-batch", 64, 1, 1000, "images per SNN simulation (the embedded test set has 1,000)")
	fs.Var(&s.Only, "only", "run only these workloads, comma-separated: ann, snn, sgemm, bptt (default: all; snn needs --snn)")
	b.Int(fs, &s.BPTTSteps, "bptt-timesteps", 50, 1, snn.MaxTimesteps, "time steps T of the BPTT training-step workload")
	b.Int(fs, &bpttB, "bptt-batch", 64, 1, 1000, "images per BPTT training step (the embedded test set has 1,000)")
	b.Int(fs, &s.BPTTRuns, "bptt-runs", 3, 1, 1000, "minimum timed BPTT steps (after one warm-up step)")
	b.Int(fs, &s.BPTTNeuron.Burst, "bptt-burst", 1, 1, snn.MaxBurst, "BPTT workload: burst neurons of at most this many spikes per step (the first threshold divided by it); 1: ordinary")
	fs.BoolVar(&s.BPTTNeuron.Signed, "bptt-signed", false, "BPTT workload: signed neurons")
	bpttEnc := snn.Poisson
	fs.TextVar(&bpttEnc, "bptt-encoder", bpttEnc, "BPTT workload: input encoding, poisson or direct")
	fs.Var((*thresholdsFlag)(&s.BPTTNeuron.Thresholds), "bptt-thresholds", "BPTT workload: the spiking layers' thresholds, comma-separated (default: the workload's, about 5 % activity at T = 50 with Poisson input)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := ready(&b, out.threads); err != nil {
		return err
	}
	s.BPTTNeuron.Direct = bpttEnc == snn.Direct
	if s.MinTime <= 0 {
		return usagef("--time %v: want a positive duration", s.MinTime)
	}
	if s.Only[workload.WorkSNN] && snnDir == "" {
		return usagef("--only %s needs --snn DIR", s.Only.String())
	}
	if err := benchInputs(&s, snnDir, snnT, snnB, bpttB); err != nil {
		return err
	}
	if s.Runs(workload.WorkBPTT) && len(s.Only) != 1 {
		// The other workloads grow this process's heap: the BPTT step runs
		// in a child process, this executable with --only bptt, so that
		// its peak RSS is its own.
		s.BPTTChild = func(ctx context.Context) *exec.Cmd {
			exe, _ := os.Executable()
			cmd := exec.CommandContext(ctx, exe, "bench", "--only", workload.WorkBPTT, "--json", "--threads", strconv.Itoa(out.threads),
				"--bptt-timesteps", strconv.Itoa(s.BPTTSteps), "--bptt-batch", strconv.Itoa(bpttB), "--bptt-runs", strconv.Itoa(s.BPTTRuns),
				"--time", s.MinTime.String(), "--bptt-burst", strconv.Itoa(max(1, s.BPTTNeuron.Burst)),
				"--bptt-signed="+strconv.FormatBool(s.BPTTNeuron.Signed), "--bptt-encoder", bpttEnc.String())
			if s.BPTTNeuron.Thresholds != nil {
				cmd.Args = append(cmd.Args, "--bptt-thresholds", (*thresholdsFlag)(&s.BPTTNeuron.Thresholds).String())
			}
			if out.quiet {
				cmd.Args = append(cmd.Args, "--quiet")
			}
			cmd.Stderr = stderr
			return cmd
		}
	}
	return runStage(ctx, out, stdout, stderr, workload.Bench, s, func(r *workload.Result, w io.Writer) error {
		r.WriteText(w, s.Runs(workload.WorkANN), s.Runs(workload.WorkSgemm), s.Runs(workload.WorkBPTT))
		return nil
	}, func(err error, _ *display) error { return err })
}

// benchInputs loads the SNN workload's model and the embedded test images
// of the SNN and BPTT workloads.
func benchInputs(s *workload.Settings, snnDir string, snnT, snnB, bpttB int) error {
	var err error
	if snnDir != "" && s.Runs(workload.WorkSNN) {
		m, err := loadModel(snnDir, "snn", modelfile.KindSNN)
		if err == nil {
			s.SNNNet, err = m.Spiking(snnT)
		}
		if err != nil {
			return err
		}
		c := s.SNNNet.Model.Config
		if s.SNNInput, _, err = embeddedBatch(snnB, c.InChannels, c.InHeight, c.InWidth, snnDir); err != nil {
			return err
		}
		s.SNNModel = snnDir
	}
	if s.Runs(workload.WorkBPTT) {
		s.BPTTInput, s.BPTTLabels, err = embeddedBatch(bpttB, 1, 28, 28, "")
	}
	return err
}

// embeddedBatch returns the first n embedded test images, normalised, for
// a model (named model, for errors) that reads c×h×w images.
func embeddedBatch(n, c, h, w int, model string) (*tensor.Tensor, []int32, error) {
	s, err := data.LoadEmbedded(data.Test)
	if err != nil {
		return nil, nil, err
	}
	if s.Channels != c || s.Height != h || s.Width != w {
		return nil, nil, usagef("the SNN workload uses the embedded 28×28 grey images; %s expects %d×%d×%d", model, c, h, w)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sub := s.Subset(idx)
	return sub.Tensor(nil, data.Table()), sub.Labels, nil
}

// thresholdsFlag is a comma-separated list of positive, finite thresholds.
type thresholdsFlag []float32

func (t *thresholdsFlag) String() string {
	if t == nil || *t == nil {
		return ""
	}
	parts := make([]string, len(*t))
	for i, v := range *t {
		parts[i] = strconv.FormatFloat(float64(v), 'g', -1, 32)
	}
	return strings.Join(parts, ",")
}

func (t *thresholdsFlag) Set(s string) error {
	var out []float32
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("threshold %q: want a positive, finite number", f)
		}
		out = append(out, float32(v))
	}
	*t = out
	return nil
}
