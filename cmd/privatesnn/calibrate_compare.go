package main

import (
	"context"
	"io"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/stage"
)

// runCalibrateCompare is the one place where real training images meet
// conversion: it balances thresholds on synthetic and on real images with
// identical settings and compares the resulting SNNs on the test set.
func runCalibrateCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		job          = stage.CompareJob{Settings: convert.DefaultSettings(convert.RecipePaper)}
		b            bounds
		spec         data.Spec
		model, synth string
		out          output
	)
	fs := newFlagSet("calibrate-compare")
	calibFlags(fs, &b, &job.Settings, &job.Seed, false)
	dataFlags(fs, &b, &spec, "")
	fs.StringVar(&model, "model", "", "trained ANN (required)")
	fs.StringVar(&synth, "synth", "", "synthetic image set made from this ANN (required)")
	out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := ready(&b, out.threads, "--model", model, "--synth", synth); err != nil {
		return err
	}
	var err error
	if job.ANN, err = loadModel(model, stage.RoleModel, modelfile.KindANN); err != nil {
		return err
	}
	if job.Synth, err = loadSynth(synth); err != nil {
		return err
	}
	if err := synthSource(job.Synth, job.ANN, "--model "+model, "thresholds balanced on it would not fit this model"); err != nil {
		return err
	}
	if job.Real, err = loadData(spec, data.Train, job.ANN); err != nil {
		return err
	}
	if job.Test, err = loadData(spec, data.Test, job.ANN); err != nil {
		return err
	}
	return runStage(ctx, out, stdout, stderr, stage.CompareCalibration, job, func(res *stage.CompareResult, w io.Writer) error { return res.WriteText(w) }, nil)
}
