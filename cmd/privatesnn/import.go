package main

import (
	"context"
	"fmt"
	"io"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
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
	format := "safetensors"
	fs.StringVar(&format, "format", format, "what --weights is: safetensors (a PyTorch state_dict) or nir (a NIR graph file)")
	nj := stage.ImportNIRJob{Spiking: snn.Config{Leak: 1, Reset: snn.ResetZero, Encoder: snn.Direct}, Software: version()}
	b.Int(fs, &nj.Spiking.Timesteps, "timesteps", 0, 0, snn.MaxTimesteps, "nir: time steps T, when the file does not record them")
	fs.TextVar(&nj.Spiking.Encoder, "encoder", nj.Spiking.Encoder, "nir: input encoding when the file does not record it: direct or poisson")
	fs.TextVar(&nj.Spiking.Reset, "reset", nj.Spiking.Reset, "nir: reset after a spike when the file does not record it: zero (NIR's semantics) or subtract")
	asANN := false
	fs.BoolVar(&asANN, "as-ann", false, "nir: read a spiking graph as the ANN of the same weights (IF neurons as ReLUs): the ANN to synthesise from and distil from when encrypting a network converted elsewhere")
	b.Float(fs, &nj.Spiking.InitMembrane, "init-membrane", 0, interval{lo: 0, hi: 1}, "nir: initial membrane as a fraction of the threshold when the file does not record it (NIR's semantics: 0)")
	out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	switch format {
	case "safetensors":
	case "nir":
		if err := ready(&b, out.threads, "--weights", job.Weights, "--out", job.Out); err != nil {
			return err
		}
		if err := checkOut(job.Out, modelfile.CardFile, "a model", force, job.Weights); err != nil {
			return err
		}
		nj.File, nj.Out, nj.Normalization, nj.Data, nj.AsANN = job.Weights, job.Out, s.Normalization, string(spec.Name), asANN
		return runStage(ctx, out, stdout, stderr, stage.ImportNIR, nj, writeImportNIR, nil)
	default:
		return usagef("--format %q: want safetensors or nir", format)
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

// writeImportNIR prints a finished NIR import.
func writeImportNIR(res *stage.ImportNIRResult, w io.Writer) error {
	what := "an ANN"
	if res.SNN != nil {
		init := fmt.Sprintf("initial membrane %g·θ", res.SNN.InitMembrane)
		if len(res.SNN.ChannelInit) > 0 {
			init = "initial membranes per channel"
		}
		what = fmt.Sprintf("a spiking network, T = %d, %v input, reset %v, %s", res.SNN.Timesteps, res.SNN.Encoder, res.SNN.Reset, init)
	}
	card := "a new card (thresholds from the file)"
	if res.FromCard {
		card = "the privatesnn card it carries"
	}
	if _, err := fmt.Fprintf(w, "imported %s: %s, %s / %v → %d classes; %s pooling; %s\n", res.File, what,
		vgg.FormatFeatures(res.Model.Features), res.Model.Hidden, res.Model.Classes, res.Pooling, card); err != nil {
		return err
	}
	for _, n := range res.Notes {
		if _, err := fmt.Fprintf(w, "note: %s\n", n); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "model: %s\n", res.Out)
	return err
}
