package main

import (
	"context"
	"io"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/stage"
)

func runEnergy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		job   stage.EnergyJob
		b     bounds
		spec  data.Spec
		model string
		split = data.Split(data.Test)
		out   output
	)
	fs := newFlagSet("energy")
	dataFlags(fs, &b, &spec, "")
	fs.StringVar(&model, "model", "", "spiking model from 'privatesnn convert' (required)")
	fs.TextVar(&split, "split", split, "split to simulate: test or train (a validation split of the training images, with --limit)")
	simFlags(fs, &b, &job.Settings.Timesteps, &job.Settings.Readouts, &job.Settings.Seed, 10)
	out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := ready(&b, out.threads, "--model", model); err != nil {
		return err
	}
	var err error
	if job.Model, job.Data, err = modelAndData(model, modelfile.KindSNN, spec, string(split)); err != nil {
		return err
	}
	return runStage(ctx, out, stdout, stderr, stage.Energy, job, (*stage.EnergyResult).WriteText, nil)
}
