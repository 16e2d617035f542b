package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/train"
	"github.com/privatesnn/privatesnn/vgg"
)

// trainFlags registers the training settings into s. --epochs, when
// given, also goes into epochs (a resumed run keeps its own count
// otherwise).
func trainFlags(fs *flag.FlagSet, b *bounds, s *stage.TrainSettings, epochs *int) {
	o, d := &s.Options, s.Options
	fs.StringVar(&s.Preset, "model", s.Preset, "architecture preset: "+strings.Join(vgg.Names(), ", "))
	fs.TextVar(&s.Features, "features", s.Features, "override the preset's feature list, e.g. 32,32,A,64,64,A")
	optText(fs, &s.Hidden, "hidden", "override the classifier's hidden widths, e.g. 4096 or 4096,4096 (none: -)")
	b.Float(fs, &s.ConvDropout, "conv-dropout", -1, interval{lo: -1, hi: 1, hiOpen: true}, "conv dropout probability (-1: the preset's)")
	b.Float(fs, &s.FCDropout, "fc-dropout", -1, interval{lo: -1, hi: 1, hiOpen: true}, "classifier dropout probability (-1: the preset's)")
	fs.Var(&twoInts{&o.Epochs, epochs}, "epochs", "training epochs (with --resume: the interrupted run's unless given; more extend it)")
	b.checks = append(b.checks, func() error {
		if o.Epochs < 1 || o.Epochs > 100000 {
			return usagef("--epochs %d out of range [1, 100000]", o.Epochs)
		}
		return nil
	})
	b.Int(fs, &o.BatchSize, "batch", d.BatchSize, 1, 1<<16, "mini-batch size")
	fs.TextVar(&o.Optimizer, "optimizer", d.Optimizer, "sgd or adam")
	b.Float(fs, &o.LR, "lr", d.LR, interval{lo: 0, hi: 100, loOpen: true}, "initial learning rate")
	b.Float(fs, &o.Momentum, "momentum", d.Momentum, interval{lo: 0, hi: 1, hiOpen: true}, "SGD momentum")
	b.Float(fs, &o.WeightDecay, "weight-decay", d.WeightDecay, interval{lo: 0, hi: 1}, "L2 weight decay")
	fs.BoolVar(&o.AMSGrad, "amsgrad", false, "Adam: use AMSGrad")
	fs.Var((*train.Fractions)(&o.LRFractions), "lr-steps", "divide the LR at these fractions of the epochs (comma list, increasing, in (0, 1); empty: constant); "+
		"a step never falls on the first epoch, nor on an earlier step's (it moves to the next epoch)")
	b.Float(fs, &o.LRFactor, "lr-factor", d.LRFactor, interval{lo: 1, hi: 1e6}, "divide the LR by this at each step")
	b.Int(fs, &o.Augment.CropPad, "crop-pad", d.Augment.CropPad, 0, 64, "random-crop padding in pixels (0: off)")
	fs.TextVar(&s.Flip, "flip", s.Flip, "random horizontal flip: on, off, or auto (off for MNIST digits, on otherwise)")
	fs.Uint64Var(&o.Seed, "seed", 0, "random seed (initialisation, shuffling, augmentation, dropout)")
}

// twoInts is an int flag written into two places: a setting and a record
// that the flag was given.
type twoInts struct{ setting, given *int }

func (t *twoInts) String() string {
	if t == nil || t.setting == nil {
		return ""
	}
	return strconv.Itoa(*t.setting)
}

func (t *twoInts) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not an integer")
	}
	*t.setting, *t.given = v, v
	return nil
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	job := stage.TrainJob{Settings: stage.DefaultTrainSettings(), Software: version()}
	var (
		b     bounds
		spec  data.Spec
		force bool
		out   output
	)
	fs := newFlagSet("train")
	dataFlags(fs, &b, &spec, data.Embedded)
	trainFlags(fs, &b, &job.Settings, &job.Epochs)
	fs.StringVar(&job.Out, "out", "", "output directory (default runs/<data>-<model>)")
	fs.BoolVar(&job.Resume, "resume", false, "continue the interrupted run in --out from its checkpoint (a larger --epochs extends it)")
	fs.BoolVar(&force, "force", false, "replace the model files in an existing --out (other files stay)")
	out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := ready(&b, out.threads); err != nil {
		return err
	}
	if job.Out == "" {
		job.Out = filepath.Join("runs", string(spec.Name)+"-"+job.Settings.Preset)
	}
	if err := checkRun(job.Out, force, job.Resume, spec.Dir); err != nil {
		return err
	}
	var err error
	if job.Train, err = loadData(spec, data.Train, nil); err != nil {
		return err
	}
	if job.Test, err = loadData(spec, data.Test, nil); err != nil {
		return err
	}
	job.Data, job.DataDir = string(spec.Name), spec.Dir
	return runStage(ctx, out, stdout, stderr, stage.Train, job, func(res *stage.TrainResult, w io.Writer) error {
		_, err := fmt.Fprintf(w, "test accuracy %.2f%% (%s, %d images) after %s in %.0fs; model saved in %s\n",
			100*res.TestAccuracy, job.Test.Name, job.Test.Len(), plural(res.Epochs, "epoch"), res.Seconds, job.Out)
		return err
	}, func(err error, pr *display) error { return trainError(err, job, pr) })
}

// trainError words stage.Train's errors in the flags' terms.
func trainError(err error, j stage.TrainJob, pr *display) error {
	var finished *stage.FinishedError
	switch {
	case errors.Is(err, context.Canceled):
		pr.line("interrupted: checkpoint saved in %s; continue with --resume", j.Out)
		return err
	case errors.As(err, &finished):
		return usagef("--epochs %d: the run in %s has already finished %s", j.Epochs, j.Out, plural(finished.Done, "epoch"))
	case errors.Is(err, stage.ErrSettingsChanged):
		return usagef("%s: %v; resume it with the same flags", j.Out, err)
	case errors.Is(err, stage.ErrNothingToResume):
		return fmt.Errorf("resume: %w", err)
	}
	return userError(err)
}
