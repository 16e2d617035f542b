package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/privatesnn/privatesnn/invert"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/synth"
)

func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	job := stage.SynthJob{Settings: synth.DefaultSettings(), Software: version()}
	s := &job.Settings
	var (
		b     bounds
		model string
		out   output
	)
	fs := newFlagSet("synth")
	fs.StringVar(&model, "model", "", "directory of the ANN to synthesise from (saved by privatesnn train); required")
	synthFlags(fs, &b, s)
	fs.StringVar(&job.Out, "out", "", "output directory (default runs/<model dir name>-synth)")
	fs.BoolVar(&job.Overwrite, "force", false, "replace the image set in an existing --out (other files stay)")
	out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := ready(&b, out.threads, "--model", model); err != nil {
		return err
	}
	if job.Out == "" {
		job.Out = filepath.Join("runs", filepath.Base(filepath.Clean(model))+"-synth")
	}
	if err := checkOut(job.Out, "", "", true, model); err != nil {
		return err
	}
	if _, err := os.Lstat(job.Out); err == nil && !job.Overwrite {
		return fmt.Errorf("%s already exists; pass --force to replace the image set in it, or choose another --out", job.Out)
	}
	var err error
	if job.ANN, err = loadModel(model, stage.RoleModel, modelfile.KindANN); err != nil {
		return err
	}
	synthesise := func(ctx context.Context, j stage.SynthJob, p progress.Func) (*stage.SynthResult, error) {
		r, err := stage.Synth(ctx, j, p.WithStage("synth"))
		if err == nil {
			err = p.Report(progress.Report{Label: fmt.Sprintf("done: %d images in %.0fs (%.3fs/image)", r.Images, r.Seconds, r.SecondsPerImage)})
		}
		return r, err
	}
	return runStage(ctx, out, stdout, stderr, synthesise, job, func(r *stage.SynthResult, w io.Writer) error {
		printSynth(w, r, job.ANN.Card.ClassNames)
		return nil
	}, nil)
}

// printSynth writes the set's summary, class by class.
func printSynth(stdout io.Writer, r *stage.SynthResult, names []string) {
	fmt.Fprintf(stdout, "%d images in %.0fs; ANN argmax = soft-label argmax for %.1f%% (%.1f%% before 8-bit saving), = folder class for %.1f%%; written to %s\n",
		r.Images, r.Seconds, 100*r.SoftArgmaxAgreement, 100*r.SoftArgmaxUnquantised, 100*r.FolderAgreement, r.Out)
	for _, c := range r.Stats.PerClass {
		name := ""
		if c.Class < len(names) {
			name = " " + names[c.Class]
		}
		fmt.Fprintf(stdout, "  class %d%s: soft-label argmax %.1f%%, folder class %.1f%%\n", c.Class, name, 100*c.SoftArgmaxAgreement, 100*c.FolderAgreement)
	}
}

// synthFlags registers the synthesis settings into s.
func synthFlags(fs *flag.FlagSet, b *bounds, s *synth.Settings) {
	b.Int(fs, &s.PerClass, "per-class", s.PerClass, 1, synth.MaxImages/1000, "images per class")
	fs.TextVar(&s.Schedule, "schedule", s.Schedule, fmt.Sprintf("fast (%d Adam steps at lr %g) or reference (lr %g; %d steps for 28×28 inputs, %d otherwise)",
		synth.FastIterations, synth.FastLR, synth.ReferenceLR, synth.ReferenceIterationsMNIST, synth.ReferenceIterationsCIFAR))
	b.Int(fs, &s.Iterations, "iterations", 0, 0, invert.MaxIterations, "Adam steps per image (0: the schedule's)")
	b.Float(fs, &s.LR, "lr", 0, interval{lo: 0, hi: 100}, "Adam learning rate (0: the schedule's)")
	b.Float(fs, &s.Temperature, "temperature", s.Temperature, interval{lo: 0, hi: 1e6, loOpen: true}, "softmax temperature τ of the synthesis loss")
	optBool(fs, &s.Bounded, "bounded", "optimise x = tanh(w) so pixels stay in range and saving loses nothing to clipping (not in the reference; default: fast true, reference false)")
	b.Int(fs, &s.Batch, "batch", s.Batch, 1, invert.MaxBatch, "images optimised together (changes speed, not results)")
	fs.Uint64Var(&s.Seed, "seed", 0, "random seed (initial pixels and Dirichlet soft labels)")
}
