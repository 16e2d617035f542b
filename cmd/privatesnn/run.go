package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/privatesnn/privatesnn"
	"github.com/privatesnn/privatesnn/pipeline"
	"github.com/privatesnn/privatesnn/progress"
)

// runOptions are the settings of the run and demo commands.
type runOptions struct {
	config        string
	workdir       string
	plan, explain bool
	out           output
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o runOptions
	fs := newFlagSet("run")
	fs.StringVar(&o.workdir, "workdir", "", "directory of the stage outputs and the report (default: the config's workdir, or runs/<name>)")
	fs.BoolVar(&o.plan, "plan", false, "print the stage graph (each stage's state, the stages it needs, whether it reads real data), then stop")
	fs.BoolVar(&o.explain, "explain", false, "print every configuration key, in TOML, with CONFIG's value (without CONFIG: the default) and its description, then stop")
	o.out.register(fs)
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		o.config, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	switch {
	case o.config == "" && o.explain:
		return pipeline.Explain(stdout, pipeline.Defaults())
	case o.config == "":
		return usagef("want a configuration file: privatesnn run CONFIG [flags]")
	}
	c, text, err := pipeline.Load(o.config)
	if _, ok := errors.AsType[*pipeline.ConfigError](err); ok {
		err = fmt.Errorf("%v\n('privatesnn run --explain' lists every key with its default)", err)
	}
	if err != nil {
		return usagef("%v", err)
	}
	return execute(ctx, c, text, "privatesnn run "+o.config, o, stdout, stderr)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o runOptions
	fs := newFlagSet("demo")
	fs.StringVar(&o.workdir, "workdir", "", "directory of the stage outputs and the report (default runs/demo)")
	fs.BoolVar(&o.plan, "plan", false, "print the stage graph (each stage's state, the stages it needs, whether it reads real data), then stop")
	fs.BoolVar(&o.explain, "explain", false, "print every configuration key, in TOML, with the demo's value and its description, then stop")
	o.out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	b, err := privatesnn.Configs.ReadFile("configs/demo.toml")
	if err != nil {
		return err
	}
	c, err := pipeline.Parse(b, true)
	if err != nil {
		return err
	}
	c.Workdir = filepath.Join("runs", c.Name)
	return execute(ctx, c, string(b), "privatesnn demo", o, stdout, stderr)
}

// execute runs (or plans) a pipeline configuration.
func execute(ctx context.Context, c pipeline.Config, text, command string, o runOptions, stdout, stderr io.Writer) error {
	if o.workdir != "" {
		c.Workdir = o.workdir
	}
	if o.out.threads == 0 {
		o.out.threads = c.Threads
	}
	if err := setThreads(o.out.threads); err != nil {
		return err
	}
	if o.explain {
		return pipeline.Explain(stdout, c)
	}
	if o.plan {
		return pipeline.WritePlan(stdout, c, o.out.json)
	}
	pipeline.Software = version()
	return runStage(ctx, o.out, stdout, stderr, func(ctx context.Context, c pipeline.Config, p progress.Func) (*pipeline.Outcome, error) {
		return pipeline.Execute(ctx, c, text, command, p)
	}, c, func(res *pipeline.Outcome, w io.Writer) error {
		_, err := fmt.Fprintf(w, "report: %s (and report.md) after %.0fs\n", res.Report, res.Seconds)
		return err
	}, func(err error, _ *display) error { return err })
}
