package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/train"
	"github.com/privatesnn/privatesnn/vgg"
)

// importOptions are the import command's settings.
type importOptions struct {
	d                      dataFlags
	b                      bounds
	weights, features, out string
	mean, std              float64
	convDrop, fcDrop       float64
	force, jsonOut, quiet  bool
	threads                int
}

func (o *importOptions) register(fs *flag.FlagSet) {
	o.d.register(fs, &o.b, data.FashionMNIST)
	fs.StringVar(&o.weights, "weights", "", "PyTorch state_dict saved with safetensors (required)")
	fs.StringVar(&o.features, "features", "", "the network's cfg list, conv widths and A for each 2×2 average pool, e.g. 32,32,A,64,64,A (required: weights do not record the pools)")
	fs.StringVar(&o.out, "out", "", "model directory to write (required)")
	o.b.Float(fs, &o.mean, "mean", 0.5, interval{lo: -1e6, hi: 1e6}, "input normalisation mean the network was trained with: x = (p/255 − mean)/std")
	o.b.Float(fs, &o.std, "std", 0.5, interval{lo: 0, hi: 1e6, loOpen: true}, "input normalisation std")
	o.b.Float(fs, &o.convDrop, "conv-dropout", 0, interval{lo: 0, hi: 1, hiOpen: true}, "training-time dropout after conv ReLUs, for the card")
	o.b.Float(fs, &o.fcDrop, "fc-dropout", 0.5, interval{lo: 0, hi: 1, hiOpen: true}, "training-time dropout after classifier ReLUs, for the card")
	fs.BoolVar(&o.force, "force", false, "replace the model already in --out")
	outputFlags(fs, &o.jsonOut, &o.quiet, &o.threads)
}

// importResult is what import prints.
type importResult struct {
	Weights      string     `json:"weights"`
	Out          string     `json:"out"`
	Model        vgg.Config `json:"model"`
	Params       int        `json:"params"`
	Data         string     `json:"data"`
	TestAccuracy float64    `json:"test_accuracy"`
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o importOptions
	fs := newFlagSet("import")
	o.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	spec, err := o.spec()
	if err != nil {
		return err
	}
	test, err := o.d.load(data.Test)
	if err != nil {
		return err
	}
	spec.Height, spec.Width = test.Height, test.Width
	m, card, err := modelfile.ImportStateDict(o.weights, spec)
	if err != nil {
		return err
	}
	if err := checkData(test, m, card, o.weights); err != nil {
		return err
	}
	card.ClassNames = test.ClassNames
	acc, err := train.Evaluate(ctx, m, test, card.Normalization, 256)
	if err != nil {
		return err
	}
	card.Metrics = map[string]float64{"test_accuracy": acc}
	if err := modelfile.Save(o.out, m, *card); err != nil {
		return err
	}
	res := importResult{Weights: o.weights, Out: o.out, Model: m.Config, Params: m.NumParams(), Data: test.Name, TestAccuracy: acc}
	if o.jsonOut {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "imported %s: %s / %v → %d classes, %d parameters\n", o.weights, vgg.FormatFeatures(m.Config.Features),
		m.Config.Hidden, m.Config.Classes, res.Params)
	fmt.Fprintf(stdout, "test accuracy on %s: %.2f %%\nmodel: %s\n", test.Name, 100*acc, o.out)
	return nil
}

// spec checks the flags and returns what they say of the network.
func (o *importOptions) spec() (modelfile.StateDictSpec, error) {
	var spec modelfile.StateDictSpec
	if err := o.b.check(); err != nil {
		return spec, err
	}
	if o.weights == "" || o.features == "" || o.out == "" {
		return spec, fmt.Errorf("%w: --weights, --features and --out are required", errUsage)
	}
	if err := o.d.validate(); err != nil {
		return spec, err
	}
	features, err := vgg.ParseFeatures(o.features)
	if err != nil {
		return spec, fmt.Errorf("%w: --features %q: %v", errUsage, o.features, err)
	}
	if err := setThreads(o.threads); err != nil {
		return spec, err
	}
	if err := checkOutput(o.out, o.weights); err != nil {
		return spec, err
	}
	if _, err := os.Stat(filepath.Join(o.out, modelfile.CardFile)); err == nil && !o.force {
		return spec, fmt.Errorf("%s already holds a model; pass --force to replace it, or choose another --out", o.out)
	}
	return modelfile.StateDictSpec{Features: features, ConvDropout: o.convDrop, FCDropout: o.fcDrop,
		Normalization: imageset.Normalization{Mean: o.mean, Std: o.std}, Data: string(o.d.name), Software: version()}, nil
}
