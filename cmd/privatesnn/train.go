package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/train"
	"github.com/privatesnn/privatesnn/vgg"
)

type trainOptions struct {
	data     dataFlags
	model    string
	features string
	hidden   string
	convDrop float64
	fcDrop   float64
	opts     train.Options
	lrSteps  string
	flip     train.Flip
	out      string
	resume   bool
	force    bool
	jsonOut  bool
	quiet    bool
	threads  int
}

func (o *trainOptions) flags(fs *flag.FlagSet, b *bounds) {
	d := train.Defaults()
	o.data.register(fs, b, data.Embedded)
	fs.StringVar(&o.model, "model", "small", "architecture preset: "+strings.Join(vgg.Names(), ", "))
	fs.StringVar(&o.features, "features", "", "override the preset's feature list, e.g. 32,32,A,64,64,A")
	fs.StringVar(&o.hidden, "hidden", "", "override the classifier's hidden widths, e.g. 4096 or 4096,4096 (none: -)")
	b.Float(fs, &o.convDrop, "conv-dropout", -1, interval{lo: -1, hi: 1, hiOpen: true}, "conv dropout probability (-1: the preset's)")
	b.Float(fs, &o.fcDrop, "fc-dropout", -1, interval{lo: -1, hi: 1, hiOpen: true}, "classifier dropout probability (-1: the preset's)")
	b.Int(fs, &o.opts.Epochs, "epochs", 10, 1, 100000, "training epochs")
	b.Int(fs, &o.opts.BatchSize, "batch", d.BatchSize, 1, 1<<16, "mini-batch size")
	fs.TextVar(&o.opts.Optimizer, "optimizer", d.Optimizer, "sgd or adam")
	b.Float(fs, &o.opts.LR, "lr", d.LR, interval{lo: 0, hi: 100, loOpen: true}, "initial learning rate")
	b.Float(fs, &o.opts.Momentum, "momentum", d.Momentum, interval{lo: 0, hi: 1, hiOpen: true}, "SGD momentum")
	b.Float(fs, &o.opts.WeightDecay, "weight-decay", d.WeightDecay, interval{lo: 0, hi: 1}, "L2 weight decay")
	fs.BoolVar(&o.opts.AMSGrad, "amsgrad", false, "Adam: use AMSGrad")
	fs.StringVar(&o.lrSteps, "lr-steps", "0.5,0.75", "divide the LR at these fractions of the epochs (comma list, increasing, in (0, 1); empty: constant); "+
		"a step never falls on the first epoch")
	b.Float(fs, &o.opts.LRFactor, "lr-factor", d.LRFactor, interval{lo: 1, hi: 1e6}, "divide the LR by this at each step")
	b.Int(fs, &o.opts.Augment.CropPad, "crop-pad", d.Augment.CropPad, 0, 64, "random-crop padding in pixels (0: off)")
	fs.TextVar(&o.flip, "flip", train.FlipAuto, "random horizontal flip: on, off, or auto (off for MNIST digits, on otherwise)")
	fs.Uint64Var(&o.opts.Seed, "seed", 0, "random seed (initialisation, shuffling, augmentation, dropout)")
	fs.StringVar(&o.out, "out", "", "output directory (default runs/<data>-<model>)")
	fs.BoolVar(&o.resume, "resume", false, "continue the interrupted run in --out from its checkpoint (a larger --epochs extends it)")
	fs.BoolVar(&o.force, "force", false, "replace the model files in an existing --out (other files stay)")
	outputFlags(fs, &o.jsonOut, &o.quiet, &o.threads)
	o.opts.EvalBatch = d.EvalBatch
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func (o *trainOptions) finish() error {
	if err := o.data.validate(); err != nil {
		return err
	}
	fr, err := parseFloats(o.lrSteps)
	if err != nil {
		return fmt.Errorf("%w: --lr-steps: %v", errUsage, err)
	}
	for i, f := range fr {
		if !(f > 0 && f < 1) || i > 0 && f <= fr[i-1] {
			return fmt.Errorf("%w: --lr-steps %s: want increasing fractions in (0, 1)", errUsage, o.lrSteps)
		}
	}
	o.opts.LRFractions = fr
	// Flipping changes a digit's meaning; clothes and objects survive it.
	o.opts.Augment.HFlip = o.flip.On(string(o.data.name))
	if o.out == "" {
		o.out = filepath.Join("runs", string(o.data.name)+"-"+o.model)
	}
	if err := checkOutput(o.out, o.data.dir); err != nil {
		return err
	}
	if err := o.opts.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// scheduleText describes the learning rate of every epoch range, e.g.
// "lr 0.05 for epochs 1–5, 0.005 for 6–7, 0.0005 for 8–10".
func scheduleText(o train.Options) string { return scheduleOf(o.Epochs, o.LRAt) }

// scheduleOf describes the learning rate lrAt(e) of epochs 0..epochs−1.
func scheduleOf(epochs int, lrAt func(int) float64) string {
	var parts []string
	start := 0
	for e := 1; e <= epochs; e++ {
		if e == epochs || lrAt(e) != lrAt(start) {
			r := strconv.Itoa(start + 1)
			if e > start+1 {
				r += "–" + strconv.Itoa(e)
			}
			if start == 0 {
				parts = append(parts, fmt.Sprintf("lr %.4g for %s %s", lrAt(start), map[bool]string{true: "epoch", false: "epochs"}[e == 1], r))
			} else {
				parts = append(parts, fmt.Sprintf("%.4g for %s", lrAt(start), r))
			}
			start = e
		}
	}
	return strings.Join(parts, ", ")
}

// config builds the architecture for the training set's image shape.
func (o *trainOptions) config(s *data.Set) (vgg.Config, error) {
	cfg, err := vgg.Preset(o.model, s.Channels, s.Height, s.Width, s.Classes)
	if err != nil {
		return cfg, fmt.Errorf("%w: %v", errUsage, err)
	}
	if o.features != "" {
		if cfg.Features, err = vgg.ParseFeatures(o.features); err != nil {
			return cfg, fmt.Errorf("%w: --features: %v", errUsage, err)
		}
		cfg.Name = "custom"
	}
	switch o.hidden {
	case "":
	case "-":
		cfg.Hidden = nil
	default:
		hs, err := parseFloats(o.hidden)
		if err != nil {
			return cfg, fmt.Errorf("%w: --hidden: %v", errUsage, err)
		}
		cfg.Hidden = cfg.Hidden[:0]
		for _, h := range hs {
			cfg.Hidden = append(cfg.Hidden, int(h))
		}
	}
	if o.convDrop >= 0 {
		cfg.ConvDropout = o.convDrop
	}
	if o.fcDrop >= 0 {
		cfg.FCDropout = o.fcDrop
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%w: %v", errUsage, err)
	}
	return cfg, nil
}

// trainResult is what train prints.
type trainResult struct {
	TestAccuracy  float64             `json:"test_accuracy"`
	TrainAccuracy float64             `json:"train_accuracy"`
	TrainLoss     float64             `json:"train_loss"`
	Seconds       float64             `json:"seconds"`
	Epochs        int                 `json:"epochs"`
	ImagesPerSec  float64             `json:"images_per_second"`
	Model         string              `json:"model"`
	Data          string              `json:"data"`
	Params        int                 `json:"params"`
	Seed          uint64              `json:"seed"`
	Backend       gemm.Info           `json:"backend"`
	History       []train.EpochResult `json:"history"`
}

// testHookStep, when set by a test, runs after every training step.
var testHookStep func()

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o trainOptions
	var b bounds
	fs := newFlagSet("train")
	o.flags(fs, &b)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	if err := o.finish(); err != nil {
		return err
	}
	if err := setThreads(o.threads); err != nil {
		return err
	}
	epochs := 0
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "epochs" {
			epochs = o.opts.Epochs
		}
	})
	start := time.Now()
	pr := newProgress(stderr, o.quiet)
	job, err := o.job(epochs)
	if err != nil {
		return err
	}
	trainSet, testSet := job.Train, job.Test
	oc, err := train.Fit(ctx, job, o.startLines(pr, trainSet), pr.reporter())
	if err != nil {
		return o.fitError(err, epochs, pr)
	}
	m, st := oc.Model, oc.State
	o.opts = oc.Options
	res := trainResult{Seconds: time.Since(start).Seconds(), Epochs: o.opts.Epochs, Model: o.out, Data: trainSet.Name,
		Params: m.NumParams(), Seed: o.opts.Seed, Backend: gemm.CurrentInfo(), History: st.History}
	if n := len(st.History); n > 0 {
		last := st.History[n-1]
		res.TestAccuracy, res.TrainAccuracy, res.TrainLoss = last.TestAcc, last.TrainAcc, last.TrainLoss
		var imgs, secs float64
		for _, h := range st.History {
			imgs += h.ImagesPerSec * h.Seconds
			secs += h.Seconds
		}
		if secs > 0 {
			res.ImagesPerSec = imgs / secs
		}
	}
	pr.clear()
	if o.jsonOut {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "test accuracy %.2f%% (%s, %d images) after %s in %.0fs; model saved in %s\n",
		100*res.TestAccuracy, testSet.Name, testSet.Len(), plural(res.Epochs, "epoch"), res.Seconds, o.out)
	return nil
}

// job checks what --out holds, loads the data and returns the job.
func (o *trainOptions) job(epochs int) (train.Job, error) {
	if o.resume {
		if _, err := os.Stat(filepath.Join(o.out, modelfile.CheckpointState)); err != nil {
			if _, e := modelfile.ReadCard(o.out); e == nil {
				return train.Job{}, fmt.Errorf("%w: %s holds a finished run, nothing to resume; train a new run into another --out, or pass --force instead of --resume to replace it", errUsage, o.out)
			}
		}
	} else if _, err := os.Stat(filepath.Join(o.out, modelfile.CardFile)); err == nil && !o.force {
		return train.Job{}, fmt.Errorf("%s already holds a model; pass --force to replace it or choose another --out", o.out)
	} else if _, err := os.Stat(filepath.Join(o.out, modelfile.CheckpointState)); err == nil && !o.force {
		return train.Job{}, fmt.Errorf("%s holds an interrupted run; pass --resume to continue it or --force to start over", o.out)
	}
	trainSet, err := o.data.load(data.Train)
	if err != nil {
		return train.Job{}, err
	}
	testSet, err := o.data.load(data.Test)
	if err != nil {
		return train.Job{}, err
	}
	var arch vgg.Config
	if !o.resume {
		if arch, err = o.config(trainSet); err != nil {
			return train.Job{}, err
		}
	}
	return train.Job{Out: o.out, Train: trainSet, Test: testSet, Arch: arch, Options: o.opts, Resume: o.resume, Epochs: epochs,
		Data: string(o.data.name), Software: version()}, nil
}

// startLines reports the run about to train.
func (o *trainOptions) startLines(pr *display, trainSet *data.Set) func(train.Start) error {
	return func(s train.Start) error {
		if s.Resumed && s.Options.Epochs != s.FromEpochs {
			pr.line("extending the run from %d to %s; the LR schedule is laid out again over %d epochs", s.FromEpochs, plural(s.Options.Epochs, "epoch"), s.Options.Epochs)
		}
		pr.line("training %s (%d weights) on %s: %d images, %s, batch %d; %s %s", s.Model.Config.Name, s.Model.NumParams(), trainSet.Name,
			trainSet.Len(), plural(s.Options.Epochs, "epoch"), s.Options.BatchSize, gemm.CurrentInfo().Backend, gemm.CurrentInfo().Core)
		pr.line("%s", scheduleText(s.Options))
		return nil
	}
}

// fitError words train.Fit's errors in the flags' terms.
func (o *trainOptions) fitError(err error, epochs int, pr *display) error {
	var finished *train.FinishedError
	switch {
	case errors.Is(err, context.Canceled):
		pr.line("interrupted: checkpoint saved in %s; continue with --resume", o.out)
		return err
	case errors.As(err, &finished):
		return fmt.Errorf("%w: --epochs %d: the run in %s has already finished %s", errUsage, epochs, o.out, plural(finished.Done, "epoch"))
	case errors.Is(err, train.ErrOtherData):
		return fmt.Errorf("%w: the run in %s was trained on other data than --data %s", errUsage, o.out, o.data.name)
	}
	return err
}
