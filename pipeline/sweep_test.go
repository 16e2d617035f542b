package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privatesnn/privatesnn/progress"
)

const sweepText = `
name = "fig5b"
skip = ["evaluator", "evaluator2", "audit", "energy"]
[synth]
per_class = 50
[encrypt]
per_class = [10, 50]
seed = [1, 2, 3]
samples = [[5], [5, 20]]
`

// Lists where the setting takes one value are axes; a list setting's axis
// is a list of lists; the last axis varies fastest; stages that no axis
// touches are shared by every point.
func TestParseSweep(t *testing.T) {
	s, err := ParseSweep([]byte(sweepText), true)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range s.Axes {
		names = append(names, a.Name())
	}
	if got := strings.Join(names, " "); got != "encrypt.per_class encrypt.seed encrypt.samples" {
		t.Fatalf("axes %q", got)
	}
	if !s.Axes[1].Seed() || s.Axes[0].Seed() {
		t.Error("encrypt.seed is the seed axis")
	}
	if len(s.Points) != 12 {
		t.Fatalf("%d points, want 2·3·2", len(s.Points))
	}
	p := s.Points[5] // per_class 10, seed 3, samples [5 20]
	if c := p.Config.Encrypt; c.PerClass != 10 || c.Seed != 3 || len(c.Samples) != 2 || c.Samples[1] != 20 {
		t.Errorf("point 5: %+v", c)
	}
	if got := s.Label(p); got != "encrypt.per_class=10 encrypt.seed=3 encrypt.samples=[5,20]" {
		t.Errorf("label %q", got)
	}
	for _, pt := range s.Points {
		if pt.Config.Workdir != filepath.Join("runs", "fig5b") || pt.Config.Synth.PerClass != 50 {
			t.Fatalf("point %d: workdir %q, synth.per_class %d", pt.Index, pt.Config.Workdir, pt.Config.Synth.PerClass)
		}
	}
	s.SetWorkdir(t.TempDir())
	s.SetThreads(1)
	jobs, err := s.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, j := range jobs {
		count[j.Name]++
		if j.Name == "ann" && len(j.Points) != 12 {
			t.Errorf("ann is in %d points, want all 12", len(j.Points))
		}
		if j.Name == "encrypt" && len(j.Points) != 2 {
			t.Errorf("encrypt %s is in points %v: want the two samples lists", j.ID, j.Points)
		}
	}
	// One ann, synth and convert; CET + OD and CET per (per_class, seed);
	// the samples-5 models per seed (per_class does not enter them) and
	// samples-20 per seed; one eval per point.
	for name, want := range map[string]int{"ann": 1, "synth": 1, "convert": 1, "encrypt": 6, "encrypt-cet": 6,
		"samples-5-cetod": 3, "samples-20-cet": 3, "eval": 12, "audit": 0, "evaluator": 0} {
		if count[name] != want {
			t.Errorf("%d %s jobs, want %d", count[name], name, want)
		}
	}
	for i, j := range jobs {
		for _, n := range j.Needs {
			k := indexOfJob(jobs, n)
			if k < 0 || k >= i || jobs[k].Level >= j.Level {
				t.Errorf("%s needs %s at %d (level %d vs %d)", j.ID, n, k, jobs[max(k, 0)].Level, j.Level)
			}
		}
	}
	// Another thread count is another set of stages.
	s.SetThreads(2)
	jobs2, err := s.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	if jobs2[0].ID == jobs[0].ID {
		t.Error("the thread count does not enter the hash")
	}
}

func indexOfJob(jobs []Job, id string) int {
	for i, j := range jobs {
		if j.ID == id {
			return i
		}
	}
	return -1
}

func TestParseSweepErrors(t *testing.T) {
	for name, c := range map[string]struct{ text, want string }{
		"name":      {`name = ["a", "b"]`, "cannot be swept"},
		"bad value": {"name = \"t\"\n[encrypt]\nper_class = [10, \"x\"]\n", "[encrypt] per_class = [10, \"x\"]: want an integer (or a list of such values, to sweep it)"},
		"point":     {"name = \"t\"\n[synth]\nper_class = 20\n[encrypt]\nper_class = [10, 50]\n", "at the point encrypt.per_class=50"},
		"too many":  {"name = \"t\"\nseed = [" + strings.Repeat("1, ", 200) + "1]\n[ann]\nepochs = [" + strings.Repeat("1, ", 100) + "1]\n", "more than 10000 points"},
		"skip":      {"name = \"t\"\nskip = [\"audt\"]\n", `skip "audt": no such stage`},
		"skip all":  {"name = \"t\"\nskip = [\"ann\", \"evaluator\", \"evaluator2\"]\n", "leaves no stage to run"},
	} {
		_, err := ParseSweep([]byte(c.text), true)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
	}
	// A configuration without lists is one point with no axes.
	s, err := ParseSweep([]byte("name = \"t\"\n[encrypt]\nsamples = [5]\n"), true)
	if err != nil || len(s.Axes) != 0 || len(s.Points) != 1 || len(s.Points[0].Config.Encrypt.Samples) != 1 {
		t.Errorf("plain config: %v %+v", err, s)
	}
	// JSON sweeps too.
	s, err = ParseSweep([]byte(`{"name": "t", "seed": [1, 2]}`), false)
	if err != nil || len(s.Points) != 2 || s.Points[1].Config.Seed != 2 {
		t.Errorf("JSON sweep: %v", err)
	}
}

// fakeSweep is a sweep over seed of a three-stage graph a → b(seed) → c,
// whose stages count their runs.
func fakeSweep(t *testing.T, dir string, seeds int, runs *sync.Map, delay time.Duration) *Sweep {
	t.Helper()
	s := &Sweep{Name: "fake", Workdir: dir, Threads: 1, Axes: []Axis{{Key: []string{"seed"}}}}
	for i := range seeds {
		c := Defaults()
		c.Seed, c.Workdir, c.Threads = uint64(i), dir, 1
		s.Axes[0].Values = append(s.Axes[0].Values, int64(i))
		s.Points = append(s.Points, Point{Index: i, Values: []any{int64(i)}, Config: c})
	}
	mk := func(name string, settings any, deps ...string) Stage {
		return Stage{Name: name, Deps: deps, Settings: settings,
			Run: func(ctx context.Context, d string, in Inputs, p progress.Func) (any, error) {
				n, _ := runs.LoadOrStore(d, new(atomic.Int32))
				n.(*atomic.Int32).Add(1)
				for _, dep := range deps {
					if !exists(filepath.Join(in[dep].Dir, DoneFile)) {
						return nil, fmt.Errorf("%s ran before %s was done", name, dep)
					}
				}
				select {
				case <-time.After(delay):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return map[string]string{"stage": name}, os.WriteFile(filepath.Join(d, "artifact"), []byte(name), 0o644)
			}}
	}
	s.build = func(c Config) *Graph {
		return &Graph{Workdir: c.Workdir, Threads: c.Threads, Stages: []Stage{
			mk("a", "shared"), mk("b", c.Seed, "a"), mk("c", c.Seed, "b")}}
	}
	return s
}

// RunJobs runs every stage once, never before what it needs, at most N at
// once, and a second call runs nothing.
func TestRunJobs(t *testing.T) {
	dir := t.TempDir()
	var runs sync.Map
	s := fakeSweep(t, dir, 3, &runs, 20*time.Millisecond)
	jobs, err := s.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 7 {
		t.Fatalf("%d jobs, want a shared and b, c per seed", len(jobs))
	}
	var running, peak atomic.Int32
	launch := func(ctx context.Context, id string, threads int) error {
		if threads != 1 {
			t.Errorf("launched %s with %d threads", id, threads)
		}
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		defer running.Add(-1)
		_, err := s.RunJob(ctx, id, false, nil)
		return err
	}
	if err := s.RunJobs(context.Background(), 2, launch, nil); err != nil {
		t.Fatal(err)
	}
	if peak.Load() != 2 {
		t.Errorf("peak %d jobs at once, want 2", peak.Load())
	}
	n := 0
	runs.Range(func(k, v any) bool {
		n++
		if c := v.(*atomic.Int32).Load(); c != 1 {
			t.Errorf("%s ran %d times", k, c)
		}
		return true
	})
	if n != 7 {
		t.Errorf("%d stages ran, want 7", n)
	}
	if err := s.RunJobs(context.Background(), 2, func(ctx context.Context, id string, _ int) error {
		t.Errorf("re-run launched %s", id)
		return nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitDone(context.Background(), false, time.Millisecond); err != nil {
		t.Error(err)
	}
}

// A failed job stops the jobs that need it, not the others, and RunJobs
// returns the failure.
func TestRunJobsFailure(t *testing.T) {
	dir := t.TempDir()
	var runs sync.Map
	s := fakeSweep(t, dir, 2, &runs, 0)
	jobs, _ := s.Jobs()
	bad := jobs[indexOfJobName(jobs, "b")].ID
	var launched []string
	var mu sync.Mutex
	err := s.RunJobs(context.Background(), 1, func(ctx context.Context, id string, _ int) error {
		mu.Lock()
		launched = append(launched, id)
		mu.Unlock()
		if id == bad {
			return errors.New("worker died")
		}
		_, err := s.RunJob(ctx, id, false, nil)
		return err
	}, nil)
	if err == nil || !strings.Contains(err.Error(), bad+": worker died") {
		t.Fatalf("error %v", err)
	}
	for _, id := range launched {
		if strings.HasPrefix(id, "c-") && jobs[indexOfJob(jobs, id)].Needs[0] == bad {
			t.Errorf("%s ran after %s failed", id, bad)
		}
	}
	if err := s.WaitDone(context.Background(), false, time.Millisecond); err == nil || !strings.Contains(err.Error(), "not done") {
		t.Errorf("WaitDone after a failure: %v", err)
	}
}

func indexOfJobName(jobs []Job, name string) int {
	for i, j := range jobs {
		if j.Name == name {
			return i
		}
	}
	return -1
}

// Two workers started on one stage at once: one runs it, the other waits
// for its lock and then reads its record; one artifact, one run.
func TestTwoWorkersOneStage(t *testing.T) {
	dir := t.TempDir()
	var runs sync.Map
	s := fakeSweep(t, dir, 1, &runs, 100*time.Millisecond)
	old := lockPoll
	lockPoll = 10 * time.Millisecond
	defer func() { lockPoll = old }()
	jobs, _ := s.Jobs()
	id := jobs[0].ID
	var wg sync.WaitGroup
	res := make([]*Executed, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = s.RunJob(context.Background(), id, false, nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if res[0].Cached == res[1].Cached {
		t.Errorf("cached %v and %v: want one run and one read", res[0].Cached, res[1].Cached)
	}
	v, _ := runs.Load(filepath.Join(dir, id))
	if v == nil || v.(*atomic.Int32).Load() != 1 {
		t.Errorf("the stage ran %v times", v)
	}
	rec, err := readRecord(filepath.Join(dir, id))
	var result map[string]string
	if err == nil {
		err = json.Unmarshal(rec.Result, &result)
	}
	if err != nil || rec.Threads != 1 || result["stage"] != "a" {
		t.Errorf("record %+v, %v", rec, err)
	}
	// A stage whose dependency is not done fails, or waits with wait.
	if _, err := s.RunJob(context.Background(), jobs[2].ID, false, nil); err == nil || !strings.Contains(err.Error(), "which is not done") {
		t.Errorf("c before b: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.RunJob(ctx, jobs[2].ID, true, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting c: %v", err)
	}
	if _, err := s.RunJob(context.Background(), "nope-123", false, nil); err == nil {
		t.Error("no error for an unknown stage")
	}
}

// The summary averages over the seed axis with a Student-t interval and
// draws each metric against the numeric axis.
func TestSummarize(t *testing.T) {
	s := &Sweep{Axes: []Axis{{Key: []string{"encrypt", "per_class"}, Values: []any{int64(10), int64(50)}},
		{Key: []string{"encrypt", "seed"}, Values: []any{int64(1), int64(2), int64(3)}}}}
	accs := [][]float64{{0.80, 0.82, 0.84}, {0.90, 0.90, 0.90}}
	var points []PointOutcome
	for i, pc := range s.Axes[0].Values {
		for j, seed := range s.Axes[1].Values {
			idx := len(points)
			s.Points = append(s.Points, Point{Index: idx, Values: []any{pc, seed}})
			raw, _ := json.Marshal(EvalResult{Models: []Evaluated{{Name: "DC + CET + OD", Accuracy: accs[i][j]}}})
			points = append(points, PointOutcome{Index: idx, Stages: []Executed{{Planned: Planned{Name: "eval"}, Result: raw}}})
		}
	}
	sum, err := Summarize(s, points)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Points) != 6 || len(sum.Metrics) != 1 || sum.Points[4].Values[1] != "2" || sum.Points[4].Metrics[0] != 90 {
		t.Fatalf("points %+v", sum.Points)
	}
	if len(sum.Curves) != 1 || len(sum.Curves[0].Lines) != 1 {
		t.Fatalf("curves %+v", sum.Curves)
	}
	pts := sum.Curves[0].Lines[0].Points
	// Mean 82, sd 2, n 3: half-width t(0.975, 2)·2/√3 = 4.303·1.1547.
	half := 4.302652729911275 * 2 / math.Sqrt(3)
	if len(pts) != 2 || pts[0].X != 10 || math.Abs(pts[0].Mean-82) > 1e-9 || math.Abs(pts[0].Hi-82-half) > 1e-6 || pts[0].N != 3 {
		t.Errorf("10 per class: %+v (half-width %g)", pts[0], half)
	}
	if pts[1].Lo != 90 || pts[1].Hi != 90 {
		t.Errorf("50 per class: %+v", pts[1])
	}
}

// The remembered digest of an imported model follows its weights file.
func TestWeightsDigestRemembered(t *testing.T) {
	dir := t.TempDir()
	w := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(w, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := weightsDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := weightsDigest(dir); err != nil || b != a {
		t.Fatalf("second digest %s, %v; first %s", b, err, a)
	}
	if err := os.WriteFile(w, []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := weightsDigest(filepath.Join(dir, "model.json")); err != nil || b == a {
		t.Errorf("digest after the weights changed: %s, %v (was %s)", b, err, a)
	}
}

// An interrupted RunJobs names the job that was running and how many were
// done.
func TestRunJobsInterrupted(t *testing.T) {
	var runs sync.Map
	s := fakeSweep(t, t.TempDir(), 2, &runs, 0)
	jobs, _ := s.Jobs()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := s.RunJobs(ctx, 1, func(ctx context.Context, id string, _ int) error {
		if id != jobs[0].ID {
			cancel()
			return ctx.Err()
		}
		_, err := s.RunJob(ctx, id, false, nil)
		return err
	}, nil)
	ie, ok := errors.AsType[*InterruptedError](err)
	if !ok || !errors.Is(err, context.Canceled) || ie.Stage != jobs[1].ID || ie.Done != 1 || ie.Stages != len(jobs) {
		t.Fatalf("error %#v", err)
	}
}
