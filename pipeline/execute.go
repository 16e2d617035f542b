package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/progress"
)

// Outcome is a finished run: its stages and the report.
type Outcome struct {
	Workdir string     `json:"workdir"`
	Report  string     `json:"report"` // report.html
	Seconds float64    `json:"seconds"`
	Stages  []Executed `json:"stages"`
}

// ReportDir is the directory of a run's report in its work directory.
const ReportDir = "report"

// Execute runs the configuration's graph (Build, Graph.Run) and writes its
// report into the work directory's ReportDir. text is the configuration
// as written and command the command line, both recorded in the report
// with the time Execute started. p receives the stages' reports (see
// Graph.Run) and, at the end, an event per stage saying whether it ran or
// was cached. A cancelled ctx returns an *InterruptedError.
func Execute(ctx context.Context, c Config, text, command string, p progress.Func) (*Outcome, error) {
	return execute(ctx, c, text, command, filepath.Join(c.Workdir, ReportDir), p)
}

// execute is Execute with the report written into dir.
func execute(ctx context.Context, c Config, text, command, dir string, p progress.Func) (*Outcome, error) {
	start := time.Now()
	if err := p.Report(progress.Report{Label: fmt.Sprintf("%s: stages in %s", command, c.Workdir)}); err != nil {
		return nil, err
	}
	done, err := Build(c).Run(ctx, p)
	if err != nil {
		return nil, err
	}
	width := nameWidth(len(done), func(i int) string { return done[i].Name })
	for _, e := range done {
		how := fmt.Sprintf("ran in %.1fs", e.Seconds)
		if e.Cached {
			how = "cached"
		}
		if err := p.Report(progress.Report{Label: fmt.Sprintf("%-*s %s", width, e.Name, how)}); err != nil {
			return nil, err
		}
	}
	if err := WriteReport(dir, c, text, command, start, done); err != nil {
		return nil, err
	}
	return &Outcome{Workdir: c.Workdir, Report: filepath.Join(dir, "report.html"), Seconds: time.Since(start).Seconds(), Stages: done}, nil
}

// PlanOf is the plan of a configuration's graph: the stages, their hashes
// and directories, and which are done.
type PlanOf struct {
	Workdir string    `json:"workdir"`
	Stages  []Planned `json:"stages"`
}

// Plans returns the configuration's plan.
func Plans(c Config) (*PlanOf, error) {
	plan, err := Build(c).Plan()
	if err != nil {
		return nil, err
	}
	return &PlanOf{Workdir: c.Workdir, Stages: plan}, nil
}

// WritePlan writes the configuration's plan as indented JSON (asJSON), or
// as text: per stage its name, state and directory, then the stages it
// needs and whether it reads real data (and what it reads).
func WritePlan(w io.Writer, c Config, asJSON bool) error {
	p, err := Plans(c)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	var b strings.Builder
	width := nameWidth(len(p.Stages), func(i int) string { return p.Stages[i].Name })
	for _, s := range p.Stages {
		state := "to run"
		switch {
		case s.Done:
			state = "done"
		case s.Partial:
			state = "interrupted (resumes)"
		}
		needs := "needs no stage"
		if len(s.Deps) > 0 {
			needs = "needs " + strings.Join(s.Deps, ", ")
		}
		reads := "reads no real data (" + s.Reads + ")"
		if s.RealData {
			reads = "reads real data: " + s.Reads
		}
		fmt.Fprintf(&b, "%-*s %-22s %s\n    %s; %s\n", width, s.Name, state, s.Dir, needs, reads)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// nameWidth is the width of a column of n stage names: 22 characters, or
// the longest name where one is longer.
func nameWidth(n int, name func(i int) string) int {
	w := 22
	for i := range n {
		w = max(w, len(name(i)))
	}
	return w
}
