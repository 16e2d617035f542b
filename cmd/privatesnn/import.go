package main

import (
	"context"
	"fmt"
	"io"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/vgg"
)

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	job := stage.ImportJob{Settings: stage.DefaultImportSettings(), Software: version()}
	s := &job.Settings
	var (
		b     bounds
		spec  data.Spec
		force bool
		out   output
	)
	fs := newFlagSet("import")
	dataFlags(fs, &b, &spec, data.Embedded)
	fs.StringVar(&job.Weights, "weights", "", "PyTorch state_dict saved with safetensors (required)")
	fs.TextVar(&s.Features, "features", s.Features, "the network's cfg list, conv widths and A for each 2×2 average pool, e.g. 32,32,A,64,64,A (required unless the file's \"features\" metadata records it: weights do not record the pools)")
	fs.StringVar(&job.Out, "out", "", "model directory to write (required)")
	b.Float(fs, &s.Normalization.Mean, "mean", s.Normalization.Mean, interval{lo: -1e6, hi: 1e6}, "input normalisation mean the network was trained with: x = (p/255 − mean)/std")
	b.Float(fs, &s.Normalization.Std, "std", s.Normalization.Std, interval{lo: 0, hi: 1e6, loOpen: true}, "input normalisation std")
	b.Float(fs, &s.ConvDropout, "conv-dropout", s.ConvDropout, interval{lo: 0, hi: 1, hiOpen: true}, "training-time dropout after conv ReLUs, for the card")
	b.Float(fs, &s.FCDropout, "fc-dropout", s.FCDropout, interval{lo: 0, hi: 1, hiOpen: true}, "training-time dropout after classifier ReLUs, for the card")
	fs.BoolVar(&force, "force", false, "replace the model already in --out")
	out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := ready(&b, out.threads, "--weights", job.Weights, "--out", job.Out); err != nil {
		return err
	}
	if err := checkOut(job.Out, modelfile.CardFile, "a model", force, job.Weights); err != nil {
		return err
	}
	var err error
	if job.Test, err = loadData(spec, data.Test, nil); err != nil {
		return err
	}
	job.Data, job.DataDir = string(spec.Name), spec.Dir
	return runStage(ctx, out, stdout, stderr, stage.Import, job, func(res *stage.ImportResult, w io.Writer) error {
		_, err := fmt.Fprintf(w, "imported %s: %s / %v → %d classes, %d parameters\npool positions %s\ntest accuracy on %s: %.2f %%\nmodel: %s\n", job.Weights,
			vgg.FormatFeatures(res.Model.Features), res.Model.Hidden, res.Model.Classes, res.Params, res.PoolPositions, res.Data, 100*res.TestAccuracy, job.Out)
		return err
	}, nil)
}
