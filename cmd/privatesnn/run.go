package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

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
	// Sweeps and workers.
	jobs       int
	stage      string
	stageIndex int
	wait       bool
	report     bool
	emit       string
	image      string
	claim      string
	mount      string
	binary     string
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o runOptions
	fs := newFlagSet("run")
	fs.StringVar(&o.workdir, "workdir", "", "directory of the stage outputs and the report (default: the config's workdir, or runs/<name>)")
	fs.BoolVar(&o.plan, "plan", false, "print the stage graph (each stage's state, the stages it needs, whether it reads real data; a sweep's points and shared stages), then stop")
	fs.BoolVar(&o.explain, "explain", false, "print every configuration key, in TOML, with CONFIG's value (without CONFIG: the default) and its description, then stop")
	fs.IntVar(&o.jobs, "jobs", 1, "run up to N independent stages at once on this machine, each a worker process with threads/N threads")
	fs.StringVar(&o.stage, "stage", "", "run only the stage with this ID (its directory's name, as --plan lists it), if not done: a worker's task")
	fs.IntVar(&o.stageIndex, "stage-index", -1, "run only the N-th stage of --plan's order (N = the number of stages: write the reports): an indexed worker's task")
	fs.BoolVar(&o.wait, "wait", false, "with --stage, --stage-index or --report: wait for the stages it needs (run by other workers) instead of failing")
	fs.BoolVar(&o.report, "report", false, "write the reports of a run whose stages are all done (by workers), running none")
	fs.StringVar(&o.emit, "emit", "", "write a submission that runs every stage as a task of a cluster, to stdout, then stop: slurm (a bash script of job arrays) or k8s (an Indexed Job manifest)")
	fs.StringVar(&o.image, "image", "", "--emit k8s: the container image, with privatesnn in it")
	fs.StringVar(&o.claim, "claim", "", "--emit k8s: the PersistentVolumeClaim that holds CONFIG and the work directory")
	fs.StringVar(&o.mount, "mount", "", "--emit k8s: where the pods mount the claim (CONFIG and the work directory must be under it)")
	fs.StringVar(&o.binary, "binary", "", "--emit: the privatesnn executable as the nodes see it (default: this one for slurm, privatesnn for k8s)")
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
	s, err := pipeline.LoadSweep(o.config)
	if _, ok := errors.AsType[*pipeline.ConfigError](err); ok {
		err = fmt.Errorf("%v\n('privatesnn run --explain' lists every key with its default)", err)
	}
	if err != nil {
		return usagef("%v", err)
	}
	return execute(ctx, s, "privatesnn run "+o.config, o, stdout, stderr)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o runOptions
	fs := newFlagSet("demo")
	fs.StringVar(&o.workdir, "workdir", "", "directory of the stage outputs and the report (default runs/demo)")
	fs.BoolVar(&o.plan, "plan", false, "print the stage graph (each stage's state, the stages it needs, whether it reads real data), then stop")
	fs.BoolVar(&o.explain, "explain", false, "print every configuration key, in TOML, with the demo's value and its description, then stop")
	o.out.register(fs)
	o.jobs, o.stageIndex = 1, -1
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	b, err := privatesnn.Configs.ReadFile("configs/demo.toml")
	if err != nil {
		return err
	}
	s, err := pipeline.ParseSweep(b, true)
	if err != nil {
		return err
	}
	s.SetWorkdir(filepath.Join("runs", s.Name))
	return execute(ctx, s, "privatesnn demo", o, stdout, stderr)
}

// execute runs, plans, emits or works on a pipeline configuration.
func execute(ctx context.Context, s *pipeline.Sweep, command string, o runOptions, stdout, stderr io.Writer) error {
	if o.workdir != "" {
		s.SetWorkdir(o.workdir)
	}
	if o.jobs < 1 || o.jobs > maxThreads {
		return usagef("--jobs %d out of range [1, %d]", o.jobs, maxThreads)
	}
	modes := 0
	for _, on := range []bool{o.plan, o.explain, o.stage != "", o.stageIndex >= 0, o.report, o.emit != "", o.jobs > 1} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return usagef("--plan, --explain, --stage, --stage-index, --report, --emit and --jobs exclude one another")
	}
	if o.wait && o.stage == "" && o.stageIndex < 0 && !o.report {
		return usagef("--wait goes with --stage, --stage-index or --report")
	}
	// The stages' thread count enters their hashes: --threads, else the
	// configuration's, else this machine's cores shared among --jobs.
	threads := o.out.threads
	if threads == 0 {
		threads = s.Points[0].Config.Threads
	}
	if threads == 0 && o.emit != "" {
		return usagef("--emit needs --threads (or threads in the configuration): every task runs with it, and it enters the stages' hashes")
	}
	if threads == 0 {
		threads = max(1, runtime.NumCPU()/o.jobs)
	}
	if threads < 0 || threads > maxThreads {
		return usagef("--threads %d out of range [1, %d]", threads, maxThreads)
	}
	s.SetThreads(threads)
	if err := setThreads(threads); err != nil {
		return err
	}
	if o.explain {
		if len(s.Axes) > 0 {
			return usagef("--explain shows one configuration; %s sweeps %d settings (--plan lists its points)", s.Name, len(s.Axes))
		}
		return pipeline.Explain(stdout, s.Points[0].Config)
	}
	if o.plan {
		return pipeline.WriteSweepPlan(stdout, s, o.out.json)
	}
	if o.emit != "" {
		return emit(s, o, stdout)
	}
	s.SetSoftware(version())
	if o.stageIndex >= 0 {
		jobs, err := s.Jobs()
		if err != nil {
			return err
		}
		switch {
		case o.stageIndex < len(jobs):
			o.stage = jobs[o.stageIndex].ID
		case o.stageIndex == len(jobs):
			o.report = true
		default:
			return usagef("--stage-index %d: %s has %d stages (index %d writes the reports)", o.stageIndex, s.Name, len(jobs), len(jobs))
		}
	}
	if o.stage != "" {
		return runStage(ctx, o.out, stdout, stderr, func(ctx context.Context, s *pipeline.Sweep, p progress.Func) (*pipeline.Executed, error) {
			return s.RunJob(ctx, o.stage, o.wait, p)
		}, s, func(e *pipeline.Executed, w io.Writer) error {
			how := fmt.Sprintf("ran in %.1fs", e.Seconds)
			if e.Cached {
				how = "was done"
			}
			_, err := fmt.Fprintf(w, "%s %s: %s\n", filepath.Base(e.Dir), how, e.Dir)
			return err
		}, func(err error, _ *display) error { return err })
	}
	return runStage(ctx, o.out, stdout, stderr, func(ctx context.Context, s *pipeline.Sweep, p progress.Func) (*pipeline.SweepOutcome, error) {
		start := time.Now()
		switch {
		case o.report:
			if err := s.WaitDone(ctx, o.wait, time.Second); err != nil {
				return nil, err
			}
		case o.jobs > 1:
			if err := s.RunJobs(ctx, o.jobs, workerLauncher(s.Workdir, o.config), p); err != nil {
				return nil, err
			}
		}
		res, err := pipeline.ExecuteSweep(ctx, s, command, p)
		if err == nil {
			res.Seconds = time.Since(start).Seconds() // with the workers' time
		}
		return res, err
	}, s, func(res *pipeline.SweepOutcome, w io.Writer) error {
		var err error
		if len(res.Axes) > 0 {
			_, err = fmt.Fprintf(w, "sweep of %d points (%d distinct stages): %s (and report.md) after %.0fs\n", len(res.Points), res.Jobs, res.Report, res.Seconds)
		} else {
			_, err = fmt.Fprintf(w, "report: %s (and report.md) after %.0fs\n", res.Report, res.Seconds)
		}
		return err
	}, func(err error, _ *display) error { return err })
}

// emit writes the submission --emit names.
func emit(s *pipeline.Sweep, o runOptions, stdout io.Writer) error {
	binary := o.binary
	if binary == "" && o.emit == "slurm" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("--emit slurm: %w (pass --binary)", err)
		}
		binary = exe
	} else if binary == "" {
		binary = "privatesnn"
	}
	spec, err := pipeline.EmitSpecOf(s, binary, o.config)
	if err != nil {
		return err
	}
	switch o.emit {
	case "slurm":
		return pipeline.EmitSlurm(stdout, spec)
	case "k8s":
		spec.Image, spec.Claim, spec.Mount = o.image, o.claim, o.mount
		if o.binary == "" {
			spec.Binary = "privatesnn"
		}
		return pipeline.EmitK8s(stdout, spec)
	}
	return usagef("--emit %q: want slurm or k8s", o.emit)
}

// workerLauncher runs each job as a worker process: this executable with
// "run CONFIG --workdir W --threads T --stage ID --quiet", its output
// appended to W/logs/ID.log. Cancelling ctx interrupts the worker (it
// keeps its checkpoint) and kills it 30 s later.
func workerLauncher(workdir, config string) pipeline.Launcher {
	return func(ctx context.Context, id string, threads int) error {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		logs := filepath.Join(workdir, "logs")
		if err := os.MkdirAll(logs, 0o755); err != nil {
			return err
		}
		path := filepath.Join(logs, id+".log")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		cmd := exec.CommandContext(ctx, exe, "run", config, "--workdir", workdir, "--threads", strconv.Itoa(threads), "--stage", id, "--quiet")
		cmd.Stdout, cmd.Stderr = f, f
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = 30 * time.Second
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("worker: %w: %s(log: %s)", err, lastLine(path), path)
		}
		return nil
	}
}

// lastLine returns the last line of the file at path (its last 4 KiB) and
// a space, the worker's error; "" if there is none.
func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const tail = 4096
	if st, err := f.Stat(); err == nil && st.Size() > tail {
		if _, err := f.Seek(-tail, io.SeekEnd); err != nil {
			return ""
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, tail))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l + " "
	}
	return ""
}
