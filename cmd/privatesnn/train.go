package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
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
	data      dataFlags
	model     string
	features  string
	hidden    string
	convDrop  float64
	fcDrop    float64
	opts      train.Options
	optimizer string
	lrSteps   string
	flip      string
	out       string
	resume    bool
	force     bool
	jsonOut   bool
	quiet     bool
	threads   int
}

func (o *trainOptions) flags(fs *flag.FlagSet) {
	d := train.Defaults()
	o.data.register(fs, data.Embedded)
	fs.StringVar(&o.model, "model", "small", "architecture preset: "+strings.Join(vgg.Names(), ", "))
	fs.StringVar(&o.features, "features", "", "override the preset's feature list, e.g. 32,32,A,64,64,A")
	fs.StringVar(&o.hidden, "hidden", "", "override the classifier's hidden widths, e.g. 4096 or 4096,4096 (none: -)")
	fs.Float64Var(&o.convDrop, "conv-dropout", -1, "conv dropout probability (-1: the preset's)")
	fs.Float64Var(&o.fcDrop, "fc-dropout", -1, "classifier dropout probability (-1: the preset's)")
	fs.IntVar(&o.opts.Epochs, "epochs", 10, "training epochs")
	fs.IntVar(&o.opts.BatchSize, "batch", d.BatchSize, "mini-batch size")
	fs.StringVar(&o.optimizer, "optimizer", string(d.Optimizer), "sgd or adam")
	fs.Float64Var(&o.opts.LR, "lr", d.LR, "initial learning rate")
	fs.Float64Var(&o.opts.Momentum, "momentum", d.Momentum, "SGD momentum")
	fs.Float64Var(&o.opts.WeightDecay, "weight-decay", d.WeightDecay, "L2 weight decay")
	fs.BoolVar(&o.opts.AMSGrad, "amsgrad", false, "Adam: use AMSGrad")
	fs.StringVar(&o.lrSteps, "lr-steps", "0.5,0.75", "divide the LR at these fractions of the epochs (comma list; empty: constant)")
	fs.Float64Var(&o.opts.LRFactor, "lr-factor", d.LRFactor, "divide the LR by this at each step")
	fs.IntVar(&o.opts.Augment.CropPad, "crop-pad", d.Augment.CropPad, "random-crop padding in pixels (0: off)")
	fs.StringVar(&o.flip, "flip", "auto", "random horizontal flip: on, off, or auto (off for MNIST digits, on otherwise)")
	fs.Uint64Var(&o.opts.Seed, "seed", 0, "random seed (initialisation, shuffling, augmentation, dropout)")
	fs.StringVar(&o.out, "out", "", "output directory (default runs/<data>-<model>)")
	fs.BoolVar(&o.resume, "resume", false, "continue the interrupted run in --out from its checkpoint")
	fs.BoolVar(&o.force, "force", false, "overwrite an existing model in --out")
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
	o.opts.Optimizer = train.Optimizer(o.optimizer)
	fr, err := parseFloats(o.lrSteps)
	if err != nil {
		return fmt.Errorf("%w: --lr-steps: %v", errUsage, err)
	}
	o.opts.LRFractions = fr
	switch o.flip {
	case "on":
		o.opts.Augment.HFlip = true
	case "off":
		o.opts.Augment.HFlip = false
	case "auto":
		// Flipping changes a digit's meaning; clothes and objects survive it.
		o.opts.Augment.HFlip = o.data.name != data.MNIST
	default:
		return fmt.Errorf("%w: --flip %q: want on, off or auto", errUsage, o.flip)
	}
	if o.out == "" {
		o.out = filepath.Join("runs", o.data.name+"-"+o.model)
	}
	if err := o.opts.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
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

// trainingRecord is stored in the model card.
type trainingRecord struct {
	Options train.Options       `json:"options"`
	History []train.EpochResult `json:"history"`
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o trainOptions
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	o.flags(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := o.finish(); err != nil {
		return err
	}
	if err := setThreads(o.threads); err != nil {
		return err
	}
	start := time.Now()
	trainSet, err := o.data.load(data.Train)
	if err != nil {
		return err
	}
	testSet, err := o.data.load(data.Test)
	if err != nil {
		return err
	}
	var m *vgg.Model
	var state *train.State
	card := modelfile.Card{
		Normalization: modelfile.Normalization{Mean: data.Mean, Std: data.Std},
		ClassNames:    trainSet.ClassNames,
		Provenance:    modelfile.Provenance{Dataset: trainSet.Name, TrainingDataAccessed: true, Software: version()},
	}
	if o.resume {
		var ck *modelfile.Checkpoint
		m, ck, err = modelfile.LoadCheckpoint(o.out)
		if err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		if err := json.Unmarshal(ck.Options, &o.opts); err != nil {
			return fmt.Errorf("resume %s: options: %w", o.out, err)
		}
		state = &train.State{Epoch: ck.Epoch, Step: ck.Step, Optimizer: o.opts.NewOptimizer()}
		if err := state.Optimizer.LoadState(ck.Optimizer); err != nil {
			return fmt.Errorf("resume %s: %w", o.out, err)
		}
		if len(ck.History) > 0 {
			if err := json.Unmarshal(ck.History, &state.History); err != nil {
				return fmt.Errorf("resume %s: history: %w", o.out, err)
			}
		}
		card = ck.Card
	} else {
		if _, err := os.Stat(filepath.Join(o.out, modelfile.CardFile)); err == nil && !o.force {
			return fmt.Errorf("%s already holds a model; pass --force to overwrite it or --resume to continue", o.out)
		}
		cfg, err := o.config(trainSet)
		if err != nil {
			return err
		}
		if m, err = vgg.New(cfg, rand.New(rand.NewPCG(o.opts.Seed, 0x5eed))); err != nil {
			return err
		}
	}
	card.Seed = o.opts.Seed
	pr := newProgress(stderr, o.quiet)
	pr.line("training %s (%d weights) on %s: %d images, %d epochs, batch %d; %s %s",
		m.Config.Name, m.NumParams(), trainSet.Name, trainSet.Len(), o.opts.Epochs, o.opts.BatchSize, gemm.CurrentInfo().Backend, gemm.CurrentInfo().Core)
	hooks := train.Hooks{
		Progress: func(p train.Progress) error {
			if testHookStep != nil && p.EpochDone == nil {
				testHookStep()
			}
			if p.EpochDone != nil {
				r := p.EpochDone
				pr.line("epoch %d/%d  loss %.4f  train %.2f%%  test %.2f%%  lr %.3g  %.1fs (%.0f img/s)",
					r.Epoch, p.Epochs, r.TrainLoss, 100*r.TrainAcc, 100*r.TestAcc, r.LR, r.Seconds, r.ImagesPerSec)
				return nil
			}
			pr.update(fmt.Sprintf("epoch %d/%d", p.Epoch, p.Epochs), p.Step, p.Steps, p.Elapsed, fmt.Sprintf("loss %.4f", p.Loss))
			return nil
		},
		Save: func(st train.State) error {
			opts, _ := json.Marshal(o.opts)
			hist, _ := json.Marshal(st.History)
			return modelfile.SaveCheckpoint(o.out, m, modelfile.Checkpoint{Card: card, Epoch: st.Epoch, Step: st.Step,
				Options: opts, History: hist, Optimizer: st.Optimizer.State()})
		},
	}
	st, err := train.Run(ctx, m, trainSet, testSet, o.opts, state, hooks)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			pr.line("interrupted: checkpoint saved in %s; continue with --resume", o.out)
		}
		return err
	}
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
	// The card holds no timings, so the same seed gives the same bytes.
	hist := make([]train.EpochResult, len(st.History))
	for i, h := range st.History {
		h.Seconds, h.ImagesPerSec = 0, 0
		hist[i] = h
	}
	rec, _ := json.Marshal(trainingRecord{Options: o.opts, History: hist})
	card.Training = rec
	card.Metrics = map[string]float64{"test_accuracy": res.TestAccuracy, "train_accuracy": res.TrainAccuracy, "train_loss": res.TrainLoss}
	if err := modelfile.Save(o.out, m, card); err != nil {
		return err
	}
	if o.jsonOut {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "test accuracy %.2f%% (%s, %d images) after %d epochs in %.0fs; model saved in %s\n",
		100*res.TestAccuracy, testSet.Name, testSet.Len(), res.Epochs, res.Seconds, o.out)
	return nil
}
