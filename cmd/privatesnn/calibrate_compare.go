package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/train"
	"github.com/privatesnn/privatesnn/vgg"
)

type calibrationRun struct {
	Source       string    `json:"source"`
	Thresholds   []float32 `json:"thresholds"`
	TestAccuracy float64   `json:"test_accuracy"`
}

type compareResult struct {
	Timesteps    int            `json:"timesteps"`
	Images       int            `json:"calibration_images"`
	Synthetic    calibrationRun `json:"synthetic"`
	Real         calibrationRun `json:"real"`
	DifferencePP float64        `json:"difference_pp"` // real − synthetic, percentage points
	ANNAccuracy  float64        `json:"ann_accuracy"`
	TestImages   int            `json:"test_images"`
	TestData     string         `json:"test_data"`
}

// runCalibrateCompare is the one place where real training images meet
// conversion: it balances thresholds on synthetic and on real images with
// identical settings and compares the resulting SNNs on the test set.
func runCalibrateCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cf            calibFlags
		b             bounds
		d             dataFlags
		model, synthD string
		jsonOut, qt   bool
	)
	fs := newFlagSet("calibrate-compare")
	cf.register(fs, &b, convert.RecipePaper, "")
	d.register(fs, &b, "")
	fs.StringVar(&model, "model", "", "trained ANN (required)")
	fs.StringVar(&synthD, "synth", "", "synthetic image set made from this ANN (required)")
	fs.BoolVar(&jsonOut, "json", false, "print the result as one JSON object")
	fs.BoolVar(&qt, "quiet", false, "no progress on stderr")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	if model == "" || synthD == "" {
		return fmt.Errorf("%w: --model and --synth are required", errUsage)
	}
	if err := d.validate(); err != nil {
		return err
	}
	if err := cf.validate(); err != nil {
		return err
	}
	in, err := loadCompare(model, synthD, &d)
	if err != nil {
		return err
	}
	m, card, syn, real, test := in.m, in.card, in.syn, in.real, in.test
	pr := newProgress(stderr, qt)
	k, err := cf.settings.CalibCount(min(syn.Len(), real.Len()), "the smaller of the two image sets", pr.line)
	if err != nil {
		return settingsError(err)
	}
	res := compareResult{Timesteps: cf.opts.Timesteps, TestImages: test.Len(), TestData: test.Name}
	norm := card.Normalization
	sampling := cf.settings.Sampling(k, norm)
	if err := calibrateBoth(ctx, &res, m, syn, synthD, real, test, sampling, norm, k, &cf, pr); err != nil {
		return err
	}
	res.DifferencePP = 100 * (res.Real.TestAccuracy - res.Synthetic.TestAccuracy)
	ev, err := train.Evaluate(ctx, m, test, norm, 256)
	if err != nil {
		return err
	}
	res.ANNAccuracy = ev
	pr.clear()
	if jsonOut {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "T=%d, %d calibration images each; ANN %.2f%% on %s\n  synthetic calibration: %.2f%%\n  real calibration:      %.2f%%\n  difference: %.2f pp\n",
		res.Timesteps, res.Images, 100*res.ANNAccuracy, res.TestData, 100*res.Synthetic.TestAccuracy, 100*res.Real.TestAccuracy, res.DifferencePP)
	return nil
}

// compareInputs are calibrate-compare's loaded inputs.
type compareInputs struct {
	m          *vgg.Model
	card       *modelfile.Card
	syn        *synth.Set
	real, test *data.Set
}

// loadCompare loads the ANN, the synthetic set and both splits, checked.
func loadCompare(model, synthD string, d *dataFlags) (*compareInputs, error) {
	m, card, err := loadModel(model, "model", modelfile.KindANN)
	if err != nil {
		return nil, err
	}
	if err := d.defaultData(card, model); err != nil {
		return nil, err
	}
	syn, err := loadSynth(synthD, model)
	if err != nil {
		return nil, err
	}
	real, err := d.load(data.Train)
	if err != nil {
		return nil, err
	}
	test, err := d.load(data.Test)
	if err != nil {
		return nil, err
	}
	for _, s := range []*data.Set{real, test} {
		if err := checkData(s, m, card, model); err != nil {
			return nil, err
		}
	}
	return &compareInputs{m: m, card: card, syn: syn, real: real, test: test}, nil
}

// calibrateBoth balances thresholds on the synthetic and on the real
// images with the same settings and scores both SNNs on the test set.
func calibrateBoth(ctx context.Context, res *compareResult, m *vgg.Model, syn *synth.Set, synthD string, real, test *data.Set,
	sampling convert.Sampling, norm imageset.Normalization, k int, cf *calibFlags, pr *display) error {
	if err := norm.Validate(); err != nil {
		return err
	}
	// Calibration normalises in float32 (imageset's Float32Table), as in
	// privatesnn convert.
	table := norm.Float32Table()
	for _, src := range []struct {
		run  *calibrationRun
		name string
		set  *imageset.Set
	}{
		{&res.Synthetic, "synthetic:" + synthD, &syn.Set},
		{&res.Real, "real:" + real.Name, real},
	} {
		pool := src.set.Tensor(nil, table)
		res.Images = min(k, src.set.Len())
		pr.line("calibrating on %s (%d images)", src.name, res.Images)
		th, err := convert.Calibrate(ctx, m, pool, sampling, cf.opts, rand.New(rand.NewPCG(cf.seed, 0xca1b)))
		if err != nil {
			return fmt.Errorf("%s: %w", src.name, err)
		}
		net, err := snn.New(m, cf.opts.Config(th))
		if err != nil {
			return err
		}
		_, curve, err := simulate(ctx, net, test, norm, nil, cf.seed, pr)
		if err != nil {
			return err
		}
		*src.run = calibrationRun{Source: src.name, Thresholds: th, TestAccuracy: curve[0].Accuracy}
		pr.line("%s: test accuracy %.2f%%", src.name, 100*src.run.TestAccuracy)
	}
	return nil
}
