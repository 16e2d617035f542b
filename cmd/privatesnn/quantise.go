package main

import (
	"context"
	"fmt"
	"io"

	"github.com/privatesnn/privatesnn/qcfs"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/stage"
)

// quantiseCommand is the quantise command's settings.
type quantiseCommand struct {
	job          stage.QuantiseJob
	model, synth string
	force        bool
	out          output
}

func runQuantise(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := quantiseCommand{job: stage.QuantiseJob{Options: qcfs.Defaults(), Software: version()}}
	o := &c.job.Options
	var b bounds
	fs := newFlagSet("quantise")
	fs.StringVar(&c.model, "model", "", "trained ReLU ANN (directory or file; required)")
	fs.StringVar(&c.synth, "synth", "", "synthetic image set from 'privatesnn synth' made from this ANN (directory or file; required)")
	fs.StringVar(&c.job.Out, "out", "", "output directory of the QCFS ANN (required)")
	fs.BoolVar(&c.force, "force", false, "replace the model files in an existing --out (other files stay)")
	b.Int(fs, &o.Timesteps, "timesteps", 4, 0, 1<<16, "time steps T the network will be converted for; chooses --levels when that is 0 (L = T, within [2, 64])")
	b.Int(fs, &o.Levels, "levels", o.Levels, 0, 4096, "quantisation levels L of every activation (0: from --timesteps)")
	b.Float(fs, &o.Percentile, "percentile", o.Percentile, interval{lo: 0, hi: 100}, "clip of each layer: this percentile, in [50, 100], of the ANN's pre-activations on the synthetic images (0: 95 up to 4 levels, 98 above)")
	b.Int(fs, &o.Epochs, "epochs", o.Epochs, 0, 10000, "epochs of distillation from the ANN after the clips are set (0: none; on Fashion-MNIST every distillation measured lowered real accuracy)")
	b.Int(fs, &o.BatchSize, "batch", o.BatchSize, 1, 1<<16, "images per step")
	b.Float(fs, &o.LR, "lr", o.LR, interval{lo: 0, hi: 1, hiOpen: true}, "Adam learning rate of the weights (cosine-annealed to 0)")
	b.Float(fs, &o.ClipLR, "clip-lr", o.ClipLR, interval{lo: 0, hi: 1, hiOpen: true}, "Adam learning rate of the clips (cosine-annealed to 0)")
	b.Float(fs, &o.Tau, "tau", o.Tau, interval{lo: 0, hi: 100, loOpen: true}, "distillation temperature")
	b.Int(fs, &o.CropPad, "crop-pad", o.CropPad, 0, 64, "random shift of every training image, in pixels")
	fs.BoolVar(&o.Flip, "flip", o.Flip, "random horizontal flips")
	fs.BoolVar(&o.Mixup, "mixup", o.Mixup, "mix every image with another of its batch")
	b.Int(fs, &o.HeldOut, "held-out", o.HeldOut, -1, 1<<20, fmt.Sprintf("synthetic images held out to measure the agreement with the ANN and pick the epoch by it (0: %d, or a third of a smaller set; -1: none, keep the last epoch)", qcfs.DefaultHeldOut))
	fs.Uint64Var(&o.Seed, "seed", 0, "random seed (held-out split, order, augmentation)")
	c.out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := c.load(&b); err != nil {
		return err
	}
	return runStage(ctx, c.out, stdout, stderr, stage.Quantise, c.job, func(res *stage.QuantiseResult, w io.Writer) error {
		for _, e := range res.History {
			fmt.Fprintf(w, "epoch %d: distillation loss %.4f, held-out agreement %.2f%%\n", e.Epoch, e.Loss, 100*e.Agreement)
		}
		how := fmt.Sprintf("clips only, no distillation; held-out agreement with the ANN %.2f%%", 100*res.Agreement)
		switch {
		case len(res.History) > 0 && res.Kept > 0:
			how = fmt.Sprintf("held-out agreement %.2f%% before distillation; kept epoch %d", 100*res.Agreement, res.Kept)
		case len(res.History) > 0:
			how = fmt.Sprintf("held-out agreement %.2f%% before distillation; no epoch raised it, the weights before kept", 100*res.Agreement)
		}
		_, err := fmt.Fprintf(w, "quantised %s to %d levels (%s) in %.0fs; clips %v; saved in %s (no training data accessed)\n",
			c.model, res.Levels, how, res.Seconds, res.Clips, res.Out)
		return err
	}, nil)
}

// load checks the flags and loads the inputs before any work.
func (c *quantiseCommand) load(b *bounds) error {
	if err := ready(b, c.out.threads, "--model", c.model, "--synth", c.synth, "--out", c.job.Out); err != nil {
		return err
	}
	if err := userError(setting.Check(c.job.Options.Validate())); err != nil {
		return err
	}
	var err error
	c.job.ANN, c.job.Synth, err = loadANNAndSet(c.job.Out, c.force, c.model, c.synth, "distilling on it would not teach this model")
	return err
}
