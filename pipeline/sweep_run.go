package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/report"
)

// SweepOutcome is a finished sweep: every point's run and the summary.
type SweepOutcome struct {
	Workdir string `json:"workdir"`
	// Report is the summary report (a single point's report when the
	// configuration has no axes).
	Report  string         `json:"report"`
	Seconds float64        `json:"seconds"`
	Points  []PointOutcome `json:"points"`
	Jobs    int            `json:"jobs"` // distinct stages
	Axes    []Axis         `json:"axes,omitempty"`
	Summary *report.Sweep  `json:"-"`
	Single  *Outcome       `json:"-"`
	Stages  []Executed     `json:"stages,omitempty"` // a single point's stages
}

// PointOutcome is one point of a finished sweep.
type PointOutcome struct {
	Index  int        `json:"index"`
	Label  string     `json:"label"`
	Report string     `json:"report"`
	Stages []Executed `json:"stages"`
}

// PointDir is the directory, under a sweep's report directory, of point
// i's report.
func PointDir(i int) string { return fmt.Sprintf("point-%03d", i) }

// ExecuteSweep runs every point of the sweep in turn (Execute): a stage
// that an earlier point made, or another worker, is read, not run again.
// A configuration without axes writes its report into the work
// directory's ReportDir as Execute does; a sweep writes each point's
// report into ReportDir/PointDir(i) and the summary (report.Sweep: every
// point's accuracies, and each against every numeric axis with the mean
// and a 95 % interval over the seed axes) into ReportDir.
func ExecuteSweep(ctx context.Context, s *Sweep, command string, p progress.Func) (*SweepOutcome, error) {
	start := time.Now()
	out := &SweepOutcome{Workdir: s.Workdir, Axes: s.Axes}
	if jobs, err := s.Jobs(); err == nil {
		out.Jobs = len(jobs)
	}
	if len(s.Axes) == 0 {
		o, err := Execute(ctx, s.Points[0].Config, s.Text, command, p)
		if err != nil {
			return nil, err
		}
		out.Report, out.Seconds, out.Stages = o.Report, o.Seconds, o.Stages
		out.Points = []PointOutcome{{Index: 0, Report: o.Report, Stages: o.Stages}}
		return out, nil
	}
	dir := filepath.Join(s.Workdir, ReportDir)
	for _, pt := range s.Points {
		label := s.Label(pt)
		if err := p.Report(progress.Report{Label: fmt.Sprintf("point %d of %d: %s", pt.Index+1, len(s.Points), label)}); err != nil {
			return nil, err
		}
		o, err := execute(ctx, pt.Config, s.Text, command+" ("+label+")", filepath.Join(dir, PointDir(pt.Index)), p)
		if err != nil {
			return nil, fmt.Errorf("point %d (%s): %w", pt.Index, label, err)
		}
		out.Points = append(out.Points, PointOutcome{Index: pt.Index, Label: label, Report: o.Report, Stages: o.Stages})
	}
	sum, err := Summarize(s, out.Points)
	if err != nil {
		return nil, err
	}
	out.Summary = sum
	d := &report.Data{Title: "PrivateSNN sweep: " + s.Name, Sweep: sum}
	d.Meta = report.Meta{Command: command, Config: s.Text, Software: Config{Software: s.Software}.software(), Backend: backend(), Started: start.UTC(), Seeds: map[string]uint64{}}
	if err := report.Write(dir, d); err != nil {
		return nil, err
	}
	out.Report = filepath.Join(dir, report.HTMLFile)
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

// WaitDone returns when every job of the sweep is done, looking every
// poll; without wait it returns an error naming the jobs not done.
func (s *Sweep) WaitDone(ctx context.Context, wait bool, poll time.Duration) error {
	for {
		jobs, err := s.Jobs()
		if err != nil {
			return err
		}
		var left []string
		for _, j := range jobs {
			if !j.Done {
				left = append(left, j.ID)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if !wait {
			return fmt.Errorf("pipeline: %d of %d stages are not done: %s", len(left), len(jobs), strings.Join(left, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// Summarize collects every point's accuracies (its eval stage) into the
// summary report's table, and draws each against every non-seed axis
// whose values are numbers: one line per metric and combination of the
// other non-seed axes, each point the mean over the seed axes with a
// Student-t 95 % interval.
func Summarize(s *Sweep, points []PointOutcome) (*report.Sweep, error) {
	sum := &report.Sweep{}
	for _, a := range s.Axes {
		ax := report.SweepAxis{Name: a.Name(), Seed: a.Seed()}
		for _, v := range a.Values {
			ax.Values = append(ax.Values, valueText(v))
		}
		sum.Axes = append(sum.Axes, ax)
	}
	index := map[string]int{}
	values := make([]map[string]float64, len(points))
	for i, pt := range points {
		values[i] = map[string]float64{}
		for _, e := range pt.Stages {
			if e.Name != "eval" {
				continue
			}
			var ev EvalResult
			if err := json.Unmarshal(e.Result, &ev); err != nil {
				return nil, fmt.Errorf("pipeline: sweep: point %d: eval: %w", pt.Index, err)
			}
			for _, m := range ev.Models {
				name := m.Name + " accuracy (%)"
				if _, ok := index[name]; !ok {
					index[name] = len(sum.Metrics)
					sum.Metrics = append(sum.Metrics, name)
				}
				values[i][name] = 100 * m.Accuracy
			}
		}
	}
	for i, pt := range points {
		row := report.SweepPoint{Index: pt.Index, Metrics: make([]float64, len(sum.Metrics))}
		for _, v := range s.Points[pt.Index].Values {
			row.Values = append(row.Values, valueText(v))
		}
		for j, m := range sum.Metrics {
			v, ok := values[i][m]
			if !ok {
				v = math.NaN()
			}
			row.Metrics[j] = v
		}
		row.Report = PointDir(pt.Index) + "/" + report.HTMLFile
		sum.Points = append(sum.Points, row)
	}
	for x, a := range s.Axes {
		if a.Seed() || len(a.Values) < 2 || !numeric(a.Values) {
			continue
		}
		curve := report.SweepCurve{Title: "Accuracy against " + a.Name(), XLabel: a.Name(), YLabel: "test accuracy (%)", LogX: logSpread(a.Values)}
		for _, m := range sum.Metrics {
			lines := map[string]*report.SweepLine{}
			var order []string
			for i := range points {
				v, ok := values[i][m]
				if !ok {
					continue
				}
				pv := s.Points[points[i].Index].Values
				var others []string
				for k, b := range s.Axes {
					if k != x && !b.Seed() && len(b.Values) > 1 {
						others = append(others, b.Name()+"="+valueText(pv[k]))
					}
				}
				name := strings.TrimSuffix(m, " accuracy (%)")
				if len(others) > 0 {
					name += " (" + strings.Join(others, ", ") + ")"
				}
				l, ok := lines[name]
				if !ok {
					l = &report.SweepLine{Name: name}
					lines[name] = l
					order = append(order, name)
				}
				xv, _ := number(pv[x])
				addSample(l, xv, v)
			}
			for _, name := range order {
				curve.Lines = append(curve.Lines, finishLine(*lines[name]))
			}
		}
		sum.Curves = append(sum.Curves, curve)
	}
	return sum, nil
}

// addSample adds one value at x to the line: Mean holds the running sum
// and Lo the sum of squares until finishLine.
func addSample(l *report.SweepLine, x, v float64) {
	for i := range l.Points {
		if l.Points[i].X == x {
			l.Points[i].Mean += v
			l.Points[i].Lo += v * v
			l.Points[i].N++
			return
		}
	}
	l.Points = append(l.Points, report.SweepMean{X: x, Mean: v, Lo: v * v, N: 1})
}

// finishLine turns the sums of addSample into means and 95 % intervals,
// sorted by x.
func finishLine(l report.SweepLine) report.SweepLine {
	for i := range l.Points {
		q := &l.Points[i]
		n := float64(q.N)
		mean, squares := q.Mean/n, q.Lo
		q.Mean, q.Lo, q.Hi = mean, mean, mean
		if q.N > 1 {
			sd := math.Sqrt(max(0, (squares-n*mean*mean)/(n-1)))
			half := tQuantile975(q.N-1) * sd / math.Sqrt(n)
			q.Lo, q.Hi = mean-half, mean+half
		}
	}
	slices.SortFunc(l.Points, func(a, b report.SweepMean) int { return cmp.Compare(a.X, b.X) })
	return l
}

// tQuantile975 is the 97.5 % quantile of Student's t with df degrees of
// freedom: the half-width factor of a two-sided 95 % interval.
func tQuantile975(df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.975)
}

// number returns a decoded setting's value as a number: TOML gives int64
// and float64, JSON json.Number.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func numeric(vs []any) bool {
	for _, v := range vs {
		if _, ok := number(v); !ok {
			return false
		}
	}
	return true
}

// logSpread tells whether positive values span more than a factor of 20,
// to be drawn on a log axis.
func logSpread(vs []any) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		f, _ := number(v)
		if f <= 0 {
			return false
		}
		lo, hi = min(lo, f), max(hi, f)
	}
	return hi/lo > 20
}

// WriteSweepPlan writes the plan of a sweep: its axes and points, then
// every distinct stage with its state, the stages it needs and the points
// that share it; as JSON with asJSON. A configuration without axes is
// written as WritePlan does.
func WriteSweepPlan(w io.Writer, s *Sweep, asJSON bool) error {
	if len(s.Axes) == 0 {
		return WritePlan(w, s.Points[0].Config, asJSON)
	}
	jobs, err := s.Jobs()
	if err != nil {
		return err
	}
	if asJSON {
		type point struct {
			Index int    `json:"index"`
			Label string `json:"label"`
		}
		v := struct {
			Workdir string  `json:"workdir"`
			Threads int     `json:"threads"`
			Axes    []Axis  `json:"axes"`
			Points  []point `json:"points"`
			Stages  []Job   `json:"stages"`
		}{Workdir: s.Workdir, Threads: jobs[0].graph.Threads, Axes: s.Axes, Stages: jobs}
		for _, pt := range s.Points {
			v.Points = append(v.Points, point{pt.Index, s.Label(pt)})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	var b strings.Builder
	threads := "1 thread"
	if n := jobs[0].graph.Threads; n != 1 {
		threads = fmt.Sprintf("%d threads", n)
	}
	fmt.Fprintf(&b, "sweep %s: %d points, %d distinct stages, %s each, in %s\n", s.Name, len(s.Points), len(jobs), threads, s.Workdir)
	for _, a := range s.Axes {
		var vs []string
		for _, v := range a.Values {
			vs = append(vs, valueText(v))
		}
		seed := ""
		if a.Seed() {
			seed = " (seeds: the report averages over them)"
		}
		fmt.Fprintf(&b, "  %s = [%s]%s\n", a.Name(), strings.Join(vs, ", "), seed)
	}
	done := 0
	for _, j := range jobs {
		if j.Done {
			done++
		}
	}
	fmt.Fprintf(&b, "%d of %d stages done\n", done, len(jobs))
	for _, j := range jobs {
		state := "to run"
		switch {
		case j.Done:
			state = "done"
		case j.Running != "":
			state = "running (" + j.Running + ")"
		case j.Partial:
			state = "interrupted (resumes)"
		}
		needs := "needs no stage"
		if len(j.Needs) > 0 {
			needs = "needs " + strings.Join(j.Needs, ", ")
		}
		shared := fmt.Sprintf("point %d", j.Points[0])
		if len(j.Points) > 1 {
			shared = fmt.Sprintf("%d points", len(j.Points))
			if len(j.Points) < len(s.Points) {
				shared += " " + joinInts(j.Points)
			}
		}
		fmt.Fprintf(&b, "%-24s level %d  %-14s %s\n    %s; %s\n", j.ID, j.Level, state, shared, needs, realData(j.Planned))
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func realData(p Planned) string {
	if p.RealData {
		return "reads real data: " + p.Reads
	}
	return "reads no real data (" + p.Reads + ")"
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// EmitSpecOf returns the submission of the sweep's stages: Jobs in order,
// with their needs, levels and whether each is done. Binary and Config
// are the paths the nodes see; the caller sets Image, Claim and Mount for
// Kubernetes.
func EmitSpecOf(s *Sweep, binary, config string) (EmitSpec, error) {
	jobs, err := s.Jobs()
	if err != nil {
		return EmitSpec{}, err
	}
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	spec := EmitSpec{Name: s.Name, Binary: abs(binary), Config: abs(config), Workdir: abs(s.Workdir), Threads: jobs[0].graph.Threads}
	for _, j := range jobs {
		spec.Jobs = append(spec.Jobs, EmitJob{ID: j.ID, Deps: j.Needs, Level: j.Level, Done: j.Done})
	}
	return spec, nil
}
