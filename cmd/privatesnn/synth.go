package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/invert"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/synth"
)

// synthResult is what synth prints with --json.
type synthResult struct {
	Images              int     `json:"images"`
	Seconds             float64 `json:"seconds"`
	SecondsPerImage     float64 `json:"seconds_per_image"`
	Iterations          int     `json:"iterations"`
	LR                  float64 `json:"lr"`
	Temperature         float64 `json:"temperature"`
	Batch               int     `json:"batch"`
	Seed                uint64  `json:"seed"`
	FolderAgreement     float64 `json:"folder_agreement"`
	SoftArgmaxAgreement float64 `json:"soft_argmax_agreement"`
	// SoftArgmaxUnquantised is the agreement before clipping and 8-bit
	// rounding (a diagnostic; the saved images are what later stages use).
	SoftArgmaxUnquantised float64   `json:"soft_argmax_agreement_unquantised"`
	PerClassFolder        []float64 `json:"per_class_folder_agreement"`
	PerClassSoftArgmax    []float64 `json:"per_class_soft_argmax_agreement"`
	Out                   string    `json:"out"`
	Model                 string    `json:"model"`
	TrainingDataAccessed  bool      `json:"training_data_accessed"`
	Backend               gemm.Info `json:"backend"`
}

// synthOptions are the synth command's settings.
type synthOptions struct {
	o                     synth.Options
	b                     bounds
	model, out, schedule  string
	force, jsonOut, quiet bool
	threads               int
	boundedSet            bool
}

func (f *synthOptions) register(fs *flag.FlagSet) {
	f.o = synth.DefaultOptions()
	o, b := &f.o, &f.b
	fs.StringVar(&f.model, "model", "", "directory of the ANN to synthesise from (saved by privatesnn train); required")
	b.Int(fs, &o.PerClass, "per-class", o.PerClass, 1, synth.MaxImages/1000, "images per class")
	fs.StringVar(&f.schedule, "schedule", "fast", fmt.Sprintf("fast (%d Adam steps at lr %g) or reference (lr %g; %d steps for 28×28 inputs, %d otherwise)",
		synth.FastIterations, synth.FastLR, synth.ReferenceLR, synth.ReferenceIterationsMNIST, synth.ReferenceIterationsCIFAR))
	b.Int(fs, &o.Invert.Iterations, "iterations", 0, 0, invert.MaxIterations, "Adam steps per image (0: the schedule's)")
	b.Float(fs, &o.Invert.LR, "lr", 0, interval{lo: 0, hi: 100}, "Adam learning rate (0: the schedule's)")
	b.Float(fs, &o.Invert.Temperature, "temperature", o.Invert.Temperature, interval{lo: 0, hi: 1e6, loOpen: true}, "softmax temperature τ of the synthesis loss")
	fs.BoolVar(&o.Invert.Bounded, "bounded", o.Invert.Bounded, "optimise x = tanh(w) so pixels stay in range and saving loses nothing to clipping (not in the reference)")
	b.Int(fs, &o.Invert.Batch, "batch", o.Invert.Batch, 1, invert.MaxBatch, "images optimised together (changes speed, not results)")
	fs.Uint64Var(&o.Seed, "seed", 0, "random seed (initial pixels and Dirichlet soft labels)")
	fs.StringVar(&f.out, "out", "", "output directory (default runs/<model dir name>-synth)")
	fs.BoolVar(&f.force, "force", false, "replace the image set in an existing --out (other files stay)")
	outputFlags(fs, &f.jsonOut, &f.quiet, &f.threads)
}

func (f *synthOptions) validate(fs *flag.FlagSet) error {
	if err := f.b.check(); err != nil {
		return err
	}
	if f.model == "" {
		return fmt.Errorf("%w: --model is required", errUsage)
	}
	if f.schedule != "fast" && f.schedule != "reference" {
		return fmt.Errorf("%w: --schedule %q: want fast or reference", errUsage, f.schedule)
	}
	if f.out == "" {
		f.out = filepath.Join("runs", filepath.Base(filepath.Clean(f.model))+"-synth")
	}
	if err := checkOutput(f.out, f.model); err != nil {
		return err
	}
	if _, err := os.Lstat(f.out); err == nil && !f.force {
		return fmt.Errorf("%s already exists; pass --force to replace the image set in it, or choose another --out", f.out)
	}
	fs.Visit(func(fl *flag.Flag) { f.boundedSet = f.boundedSet || fl.Name == "bounded" })
	return setThreads(f.threads)
}

func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f synthOptions
	fs := newFlagSet("synth")
	f.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := f.validate(fs); err != nil {
		return err
	}
	// The kind and shape are checked here, for the command's messages.
	_, card, err := loadModel(f.model, "model", modelfile.KindANN)
	if err != nil {
		return err
	}
	pr := newProgress(stderr, f.quiet)
	start := time.Now()
	job := synth.Job{Out: f.out, Overwrite: f.force, ANN: f.model, Options: f.o, Schedule: synth.Schedule(f.schedule), KeepBounded: f.boundedSet, Software: version()}
	res, err := synth.Make(ctx, job, func(p synth.Prepared) error {
		o := p.Options
		f.o = o
		pr.line("synthesising %d images per class × %d classes from %s (%s): %d Adam steps at lr %g (bounded %v), τ %g, batch %d, seed %d",
			o.PerClass, p.Model.Config.Classes, f.model, p.Model.Config.Name, o.Invert.Iterations, o.Invert.LR, o.Invert.Bounded, o.Invert.Temperature, o.Invert.Batch, o.Seed)
		start = time.Now()
		return nil
	}, pr.reporter().WithStage("synth"))
	if err != nil {
		return err
	}
	r := f.result(res, time.Since(start).Seconds())
	pr.line("done: %d images in %.0fs (%.3fs/image)", r.Images, r.Seconds, r.SecondsPerImage)
	if f.jsonOut {
		return writeJSON(stdout, r)
	}
	printSynth(stdout, r, res.Stats, card.ClassNames)
	return nil
}

func (f *synthOptions) result(res *synth.Result, secs float64) synthResult {
	o, st := f.o, res.Stats
	r := synthResult{Images: st.Images, Seconds: secs, SecondsPerImage: secs / float64(st.Images),
		Iterations: o.Invert.Iterations, LR: o.Invert.LR, Temperature: o.Invert.Temperature, Batch: o.Invert.Batch, Seed: o.Seed,
		FolderAgreement: st.FolderAgreement, SoftArgmaxAgreement: st.SoftArgmaxAgreement, SoftArgmaxUnquantised: st.SoftArgmaxAgreementUnquantised,
		Out: f.out, Model: f.model, Backend: gemm.CurrentInfo()}
	for _, c := range st.PerClass {
		r.PerClassFolder = append(r.PerClassFolder, c.FolderAgreement)
		r.PerClassSoftArgmax = append(r.PerClassSoftArgmax, c.SoftArgmaxAgreement)
	}
	return r
}

func printSynth(w io.Writer, r synthResult, st synth.Stats, names []string) {
	fmt.Fprintf(w, "%d images in %.0fs; ANN argmax = soft-label argmax for %.1f%% (%.1f%% before 8-bit saving), = folder class for %.1f%%; written to %s\n",
		r.Images, r.Seconds, 100*r.SoftArgmaxAgreement, 100*r.SoftArgmaxUnquantised, 100*r.FolderAgreement, r.Out)
	for _, c := range st.PerClass {
		name := ""
		if c.Class < len(names) {
			name = " " + names[c.Class]
		}
		fmt.Fprintf(w, "  class %d%s: soft-label argmax %.1f%%, folder class %.1f%%\n", c.Class, name, 100*c.SoftArgmaxAgreement, 100*c.FolderAgreement)
	}
}
