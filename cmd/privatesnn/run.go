package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/privatesnn/privatesnn"
	"github.com/privatesnn/privatesnn/pipeline"
)

// runOptions are the settings of the run and demo commands.
type runOptions struct {
	config  string
	workdir string
	plan    bool
	out     output
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o runOptions
	fs := newFlagSet("run")
	fs.StringVar(&o.workdir, "workdir", "", "directory of the stage outputs and the report (default: the config's workdir, or runs/<name>)")
	fs.BoolVar(&o.plan, "plan", false, "print the stage graph and which stages are done, then stop")
	o.out.register(fs)
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		if err := parseFlags(fs, args, stdout); err != nil {
			return err
		}
		return fmt.Errorf("%w: want a configuration file: privatesnn run CONFIG [flags]", errUsage)
	}
	o.config = args[0]
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	c, text, err := pipeline.Load(o.config)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return execute(ctx, c, text, "privatesnn run "+o.config, o, stdout, stderr)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o runOptions
	fs := newFlagSet("demo")
	fs.StringVar(&o.workdir, "workdir", "", "directory of the stage outputs and the report (default runs/demo)")
	fs.BoolVar(&o.plan, "plan", false, "print the stage graph and which stages are done, then stop")
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
	g := pipeline.Build(c)
	if o.plan {
		return printPlan(stdout, g, c.Workdir, o.out.json)
	}
	pr := newProgress(stderr, o.out.quiet)
	start := time.Now()
	pipeline.Software = version()
	pr.line("%s: stages in %s", command, c.Workdir)
	done, err := g.Run(ctx, pr.reporter())
	pr.clear()
	if err != nil {
		return err
	}
	for _, e := range done {
		how := fmt.Sprintf("ran in %.1fs", e.Seconds)
		if e.Cached {
			how = "cached"
		}
		pr.line("%-22s %s", e.Name, how)
	}
	reportDir := filepath.Join(c.Workdir, "report")
	if err := pipeline.WriteReport(reportDir, c, text, command, done); err != nil {
		return err
	}
	res := map[string]any{"workdir": c.Workdir, "report": filepath.Join(reportDir, "report.html"), "seconds": time.Since(start).Seconds(), "stages": done}
	if o.out.json {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "report: %s (and report.md) after %.0fs\n", filepath.Join(reportDir, "report.html"), time.Since(start).Seconds())
	return nil
}

// printPlan prints the stage graph and what is done.
func printPlan(w io.Writer, g *pipeline.Graph, workdir string, jsonOut bool) error {
	plan, err := g.Plan()
	if err != nil {
		return err
	}
	if jsonOut {
		return writeJSON(w, map[string]any{"workdir": workdir, "stages": plan})
	}
	for _, p := range plan {
		state := "to run"
		switch {
		case p.Done:
			state = "done"
		case p.Partial:
			state = "interrupted (resumes)"
		}
		fmt.Fprintf(w, "%-22s %-22s %s\n", p.Name, state, p.Dir)
	}
	return nil
}
