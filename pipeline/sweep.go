package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/privatesnn/privatesnn/progress"
)

// A sweep is a configuration in which some settings are lists: every
// combination of their values is a point, a configuration of its own, and
// every point's stages go in the one work directory. A stage several
// points share (same settings, same inputs, so the same hash) is one
// directory, made once.
//
// A setting is swept when its value is a list that the setting does not
// take as a whole but whose every element it takes: seed = [0, 1, 2],
// [encrypt] per_class = [10, 50, 500], or, for a setting that is itself a
// list, a list of lists (samples = [[10], [10, 50]]).

// MaxPoints bounds the points of a sweep.
const MaxPoints = 10000

// Axis is one swept setting.
type Axis struct {
	// Key is the setting's path: ["encrypt", "per_class"].
	Key []string `json:"key"`
	// Values are its values, in the file's order, as decoded.
	Values []any `json:"values"`
	// Line is the setting's line in the file (0: not known).
	Line int `json:"line,omitempty"`
}

// Name is the setting's dotted path: "encrypt.per_class".
func (a Axis) Name() string { return strings.Join(a.Key, ".") }

// Seed tells whether the axis repeats a run over seeds (its key is seed
// or ends in seed): the sweep's report averages over such axes.
func (a Axis) Seed() bool { return strings.HasSuffix(a.Key[len(a.Key)-1], "seed") }

// Point is one configuration of a sweep.
type Point struct {
	// Index is the point's place in Sweep.Points, from 0.
	Index int `json:"index"`
	// Values holds one value per axis of the sweep.
	Values []any  `json:"values"`
	Config Config `json:"-"`
}

// Label names the point by its axis values: "encrypt.per_class=10
// encrypt.seed=1"; "" for a configuration without axes.
func (s *Sweep) Label(p Point) string {
	parts := make([]string, len(s.Axes))
	for i, a := range s.Axes {
		parts[i] = a.Name() + "=" + valueText(p.Values[i])
	}
	return strings.Join(parts, " ")
}

func valueText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Sweep is a configuration expanded into its points.
type Sweep struct {
	Name    string
	Workdir string
	// Threads is the thread count of every stage (it enters their hashes).
	Threads int
	// Software is what SetSoftware set (Config.Software).
	Software string
	Axes     []Axis
	Points   []Point
	// Text is the configuration as written.
	Text string

	build func(Config) *Graph // Build; tests replace it
}

// graph returns a point's stage graph.
func (s *Sweep) graph(c Config) *Graph {
	if s.build != nil {
		return s.build(c)
	}
	return Build(c)
}

// LoadSweep reads a configuration file (TOML when its name ends in .toml,
// else JSON) and expands its lists into points (ParseSweep).
func LoadSweep(path string) (*Sweep, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	if len(b) > MaxConfigBytes {
		return nil, fmt.Errorf("pipeline: %s is larger than %d bytes", path, MaxConfigBytes)
	}
	s, err := ParseSweep(b, strings.HasSuffix(strings.ToLower(path), ".toml"))
	if err != nil {
		if ce, ok := errors.AsType[*ConfigError](err); ok {
			ce.File = path
		}
		return nil, err
	}
	return s, nil
}

// ParseSweep decodes a configuration as Parse does and expands its swept
// settings into points, in the order of the axes' lines (the last axis
// varies fastest). A configuration without lists is one point. Every
// point is validated; an error names the point's values. name and
// workdir cannot be swept.
func ParseSweep(b []byte, isTOML bool) (*Sweep, error) {
	doc, err := decodeDocument(b, isTOML)
	if err != nil {
		return nil, err
	}
	axes, err := doc.axes(doc.keys, reflect.TypeFor[Config](), nil)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, a := range axes {
		if len(a.Key) == 1 && (a.Key[0] == "name" || a.Key[0] == "workdir") {
			return nil, &ConfigError{TOML: isTOML, Line: a.Line, Key: a.Key, Reason: "cannot be swept: every point of a sweep shares the run's name and work directory"}
		}
		if n *= len(a.Values); n > MaxPoints {
			return nil, &ConfigError{TOML: isTOML, Line: a.Line, Key: a.Key, Reason: fmt.Sprintf("the sweep has more than %d points", MaxPoints)}
		}
	}
	s := &Sweep{Axes: axes, Text: string(b)}
	for i := range n {
		values := make([]any, len(axes))
		keys := doc.keys
		rest := i
		for j := len(axes) - 1; j >= 0; j-- {
			a := axes[j]
			values[j] = a.Values[rest%len(a.Values)]
			rest /= len(a.Values)
			keys = withValue(keys, a.Key, values[j])
		}
		pd := &document{toml: doc.toml, keys: keys, lines: doc.lines}
		c, err := pd.config()
		if err != nil {
			if ce, ok := errors.AsType[*ConfigError](err); ok && len(axes) > 0 {
				p := Point{Values: values}
				ce.Reason = fmt.Sprintf("%s (at the point %s)", ce.Reason, s.Label(p))
			}
			return nil, err
		}
		if c.Workdir == "" {
			c.Workdir = filepath.Join("runs", c.Name)
		}
		s.Points = append(s.Points, Point{Index: i, Values: values, Config: c})
	}
	s.Name, s.Workdir = s.Points[0].Config.Name, s.Points[0].Config.Workdir
	return s, nil
}

// axes finds the swept settings of table m (of struct type t), in the
// order of their lines.
func (d *document) axes(m map[string]any, t reflect.Type, path []string) ([]Axis, error) {
	var out []Axis
	for name, v := range m {
		p := append(path[:len(path):len(path)], name)
		k, ok := keyNamed(t, name)
		if !ok {
			continue // check reports it
		}
		if k.Table() {
			sub, ok := v.(map[string]any)
			if !ok {
				continue
			}
			tt := k.Type
			if tt.Kind() == reflect.Pointer {
				tt = tt.Elem()
			}
			a, err := d.axes(sub, tt, p)
			if err != nil {
				return nil, err
			}
			out = append(out, a...)
			continue
		}
		list, ok := v.([]any)
		if !ok || len(list) == 0 || d.checkValue(v, k.Type) == "" {
			continue // not a list, or a value the setting takes (check reports the rest)
		}
		if listKind(k.Type) && !slices.ContainsFunc(list, func(e any) bool { _, ok := e.([]any); return ok }) {
			continue // a wrong list for a list setting, not a sweep: check says why
		}
		for _, e := range list {
			if reason := d.checkValue(e, k.Type); reason != "" {
				// Not a sweep: the value is wrong as a whole; check says why.
				return nil, &ConfigError{TOML: d.toml, Line: d.line(p), Key: p, Value: d.show(v), Reason: reason +
					" (or a list of such values, to sweep it)"}
			}
		}
		out = append(out, Axis{Key: p, Values: list, Line: d.line(p)})
	}
	sortAxes(out)
	return out, nil
}

// listKind tells whether values of type t are written as lists (and not
// as text).
func listKind(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return false
	}
	return t.Kind() == reflect.Slice || t.Kind() == reflect.Array
}

// sortAxes orders axes by line, then by key.
func sortAxes(a []Axis) {
	slices.SortFunc(a, func(x, y Axis) int {
		if c := cmp.Compare(x.Line, y.Line); c != 0 {
			return c
		}
		return strings.Compare(x.Name(), y.Name())
	})
}

// withValue returns a copy of m with the value at path replaced; the
// tables along path are copied, the rest shared.
func withValue(m map[string]any, path []string, v any) map[string]any {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	if len(path) == 1 {
		out[path[0]] = v
		return out
	}
	sub, _ := m[path[0]].(map[string]any)
	out[path[0]] = withValue(sub, path[1:], v)
	return out
}

// config checks the document and decodes it over Defaults (see Parse).
func (d *document) config() (Config, error) {
	if err := d.check(); err != nil {
		return Config{}, err
	}
	js, err := json.Marshal(d.keys)
	if err != nil {
		return Config{}, &ConfigError{TOML: d.toml, Reason: err.Error(), Err: err}
	}
	c := Defaults()
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, &ConfigError{TOML: d.toml, Reason: strings.TrimPrefix(err.Error(), "json: "), Err: err}
	}
	if err := decodeFrontier(&c, js); err != nil {
		return Config{}, &ConfigError{TOML: d.toml, Reason: err.Error(), Err: err}
	}
	if err := c.Validate(); err != nil {
		return Config{}, &ConfigError{TOML: d.toml, Reason: err.Error(), Err: err}
	}
	return c, nil
}

// SetWorkdir sets the work directory of the sweep and of all its points.
func (s *Sweep) SetWorkdir(dir string) {
	s.Workdir = dir
	for i := range s.Points {
		s.Points[i].Config.Workdir = dir
	}
}

// SetThreads sets the thread count of every stage of every point (it
// enters their hashes); n < 1 takes GOMAXPROCS.
func (s *Sweep) SetThreads(n int) {
	s.Threads = n
	for i := range s.Points {
		s.Points[i].Config.Threads = n
	}
}

// SetSoftware sets the software every point's cards and the sweep's
// report name (Config.Software).
func (s *Sweep) SetSoftware(sw string) {
	s.Software = sw
	for i := range s.Points {
		s.Points[i].Config.Software = sw
	}
}

// Job is one stage of a sweep: a directory that one or more points share.
type Job struct {
	Planned
	// ID is the stage's directory name, "encrypt-1a2b3c4d5e6f": the
	// stage's name and the start of its hash.
	ID string `json:"id"`
	// Needs are the IDs of the jobs it needs.
	Needs []string `json:"needs"`
	// Level is the length of the longest chain of needs below it.
	Level int `json:"level"`
	// Points are the points that have the stage.
	Points []int `json:"points"`

	graph *Graph
}

// Jobs returns the sweep's stages, each once, in an order where every
// job comes after those it needs.
func (s *Sweep) Jobs() ([]Job, error) {
	var jobs []Job
	index := map[string]int{}
	for _, pt := range s.Points {
		g := s.graph(pt.Config)
		plan, err := g.Plan()
		if err != nil {
			return nil, fmt.Errorf("point %d: %w", pt.Index, err)
		}
		ids := map[string]string{}
		for _, pl := range plan {
			id := filepath.Base(pl.Dir)
			ids[pl.Name] = id
			if j, ok := index[id]; ok {
				jobs[j].Points = append(jobs[j].Points, pt.Index)
				continue
			}
			job := Job{Planned: pl, ID: id, Points: []int{pt.Index}, graph: g}
			for _, d := range pl.Deps {
				job.Needs = append(job.Needs, ids[d])
				job.Level = max(job.Level, jobs[index[ids[d]]].Level+1)
			}
			index[id] = len(jobs)
			jobs = append(jobs, job)
		}
	}
	return jobs, nil
}

// RunJob runs the job id alone (Graph.RunStage): a worker's task. A done
// job returns at once; with wait, the job first waits for the jobs it
// needs.
func (s *Sweep) RunJob(ctx context.Context, id string, wait bool, p progress.Func) (*Executed, error) {
	jobs, err := s.Jobs()
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.ID == id {
			return j.graph.RunStage(ctx, j.Name, wait, p)
		}
	}
	return nil, fmt.Errorf("pipeline: %s has no stage %s (with %d threads; 'run CONFIG --plan' lists them)", s.Name, id, s.Threads)
}

// resumes tells whether stage name keeps checkpoints.
func (g *Graph) resumes(name string) bool {
	for _, st := range g.Stages {
		if st.Name == name {
			return st.Resumes
		}
	}
	return false
}

// Launcher runs one job, as a separate worker (a process running
// RunJob): the scheduler of RunJobs hands it the job's ID and the thread
// count it must run with. It returns when the worker has exited.
type Launcher func(ctx context.Context, id string, threads int) error

// RunJobs runs the sweep's jobs that are not done, up to parallel at once
// through launch, each as soon as the jobs it needs are done. After a
// failure it starts no further job, waits for the running ones and
// returns the failures. p receives an event when a job starts and one when
// it ends.
func (s *Sweep) RunJobs(ctx context.Context, parallel int, launch Launcher, p progress.Func) error {
	jobs, err := s.Jobs()
	if err != nil {
		return err
	}
	parallel = max(parallel, 1)
	state := make([]int, len(jobs)) // 0 waiting, 1 running, 2 done, 3 failed
	byID := map[string]int{}
	left := 0
	for i, j := range jobs {
		byID[j.ID] = i
		if j.Done {
			state[i] = 2
		} else {
			left++
		}
	}
	type finished struct {
		i       int
		err     error
		seconds float64
	}
	results := make(chan finished)
	var wg sync.WaitGroup
	running := 0
	var failures []error
	start := func(i int) {
		state[i] = 1
		running++
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			err := launch(ctx, jobs[i].ID, jobs[i].graph.Threads)
			results <- finished{i, err, time.Since(t).Seconds()}
		}()
	}
	ready := func(i int) bool {
		if state[i] != 0 {
			return false
		}
		for _, n := range jobs[i].Needs {
			if state[byID[n]] != 2 {
				return false
			}
		}
		return true
	}
	total := len(jobs)
	for left > 0 {
		if len(failures) == 0 && ctx.Err() == nil {
			for i := range jobs {
				if running < parallel && ready(i) {
					start(i)
					label := fmt.Sprintf("%s started (%d running, %d left)", jobs[i].ID, running, left)
					if err := p.Report(progress.Report{Label: label}); err != nil {
						failures = append(failures, err)
					}
				}
			}
		}
		if running == 0 {
			break
		}
		f := <-results
		running--
		if f.err != nil {
			state[f.i] = 3
			failures = append(failures, fmt.Errorf("%s: %w", jobs[f.i].ID, f.err))
			continue
		}
		state[f.i] = 2
		left--
		label := fmt.Sprintf("%s done in %.0fs (%d of %d jobs done)", jobs[f.i].ID, f.seconds, total-left, total)
		if err := p.Report(progress.Report{Label: label}); err != nil {
			failures = append(failures, err)
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		// Name the first job that was running (or would have run next).
		ie := &InterruptedError{Done: total - left, Stages: total, Err: err}
		for i, st := range state {
			if st == 1 || st == 3 || st == 0 && ie.Stage == "" {
				ie.Stage = jobs[i].ID
				ie.Resumes = jobs[i].graph.resumes(jobs[i].Name)
				if st != 0 {
					break
				}
			}
		}
		return ie
	}
	if len(failures) > 0 {
		return errors.Join(failures...)
	}
	if left > 0 {
		return fmt.Errorf("pipeline: %d jobs could not start (a job they need failed)", left)
	}
	return nil
}
