package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/train"
)

type evalResult struct {
	TestAccuracy float64 `json:"test_accuracy"`
	Images       int     `json:"images"`
	Data         string  `json:"data"`
	Model        string  `json:"model"`
	Seconds      float64 `json:"seconds"`
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		d       dataFlags
		model   string
		split   string
		batch   int
		jsonOut bool
		threads int
	)
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	d.register(fs, data.Embedded)
	fs.StringVar(&model, "model", "", "model directory or file (required)")
	fs.StringVar(&split, "split", data.Test, "split to evaluate: test or train")
	fs.IntVar(&batch, "batch", 256, "batch size")
	fs.BoolVar(&jsonOut, "json", false, "print the result as one JSON object")
	fs.IntVar(&threads, "threads", 0, "threads to use (0: all cores)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if model == "" {
		return fmt.Errorf("%w: --model is required", errUsage)
	}
	if batch < 1 || batch > 1<<16 {
		return fmt.Errorf("%w: --batch %d out of range", errUsage, batch)
	}
	if err := setThreads(threads); err != nil {
		return err
	}
	start := time.Now()
	m, _, err := modelfile.Load(model)
	if err != nil {
		return err
	}
	s, err := d.load(split)
	if err != nil {
		return err
	}
	acc, err := train.Evaluate(ctx, m, s, batch)
	if err != nil {
		return err
	}
	res := evalResult{TestAccuracy: acc, Images: s.Len(), Data: s.Name, Model: model, Seconds: time.Since(start).Seconds()}
	if jsonOut {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "accuracy %.2f%% on %s (%d images)\n", 100*acc, s.Name, s.Len())
	return nil
}
