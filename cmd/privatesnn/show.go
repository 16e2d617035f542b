package main

import (
	"context"
	"io"
	"runtime"

	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/stage"
)

func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var model string
	out := output{quiet: true}
	fs := newFlagSet("show")
	fs.StringVar(&model, "model", "", "model directory or file, ANN or SNN (required)")
	fs.BoolVar(&out.json, "json", false, "print the result as one JSON object")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := ready(&bounds{}, 0, "--model", model); err != nil {
		return err
	}
	describe := func(_ context.Context, path string, _ progress.Func) (*stage.ModelInfo, error) {
		return stage.Describe(path)
	}
	return runStage(ctx, out, stdout, stderr, describe, model, (*stage.ModelInfo).WriteText, nil)
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	out := output{quiet: true}
	fs := newFlagSet("version")
	fs.BoolVar(&out.json, "json", false, "print the result as one JSON object")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	type build struct {
		Version string `json:"version"`
		Go      string `json:"go"`
	}
	v := func(context.Context, any, progress.Func) (build, error) {
		return build{version(), runtime.Version()}, nil
	}
	return runStage(ctx, out, stdout, stderr, v, nil, func(b build, w io.Writer) error { _, err := io.WriteString(w, b.Version+" ("+b.Go+")\n"); return err }, nil)
}
