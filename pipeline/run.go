package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/privatesnn/privatesnn/internal/atomicfile"
	"github.com/privatesnn/privatesnn/internal/stagelock"
	"github.com/privatesnn/privatesnn/progress"
)

// FormatVersion enters every stage's hash: a change to what a stage
// writes bumps it, so old stage directories are not reused.
const FormatVersion = "privatesnn.pipeline/v3"

// DoneFile marks a finished stage directory; it is written last,
// atomically, so a directory without it is unfinished (and resumable
// where the stage keeps checkpoints).
const DoneFile = "stage.json"

// Stage is one node of the pipeline graph.
type Stage struct {
	// Name identifies the stage ("ann", "synth", "encrypt", …).
	Name string
	// Deps are the names of the stages whose outputs it reads.
	Deps []string
	// Settings are what the stage's output depends on besides its
	// dependencies' outputs; they enter its hash.
	Settings any
	// RealData tells whether the stage reads the real data set, and Reads
	// what it reads, in words.
	RealData bool
	Reads    string
	// Seed is the stage's random seed, for the record.
	Seed uint64
	// Resumes tells whether an interrupted run of the stage continues from
	// a checkpoint it keeps in its directory (else it starts over).
	Resumes bool
	// Run produces the stage's output in dir (created, possibly holding
	// an interrupted run's checkpoint) from its dependencies' directories
	// and results, and returns its result (stored in DoneFile). p
	// carries the stage's name as the Stage of its reports.
	Run func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error)
}

// Inputs gives a stage its dependencies' directories and raw results.
type Inputs map[string]Output

// Output is a finished stage.
type Output struct {
	Dir    string
	Result json.RawMessage
}

// Decode unmarshals the result of stage name into v.
func (in Inputs) Decode(name string, v any) error {
	o, ok := in[name]
	if !ok {
		return fmt.Errorf("pipeline: no input %q", name)
	}
	return json.Unmarshal(o.Result, v)
}

// Record is the content of DoneFile.
type Record struct {
	Format   string            `json:"format"`
	Stage    string            `json:"stage"`
	Hash     string            `json:"hash"`
	Settings json.RawMessage   `json:"settings"`
	Deps     map[string]string `json:"deps"` // dependency → its hash
	// Threads is the thread count the stage ran with (part of its hash);
	// Backend the GEMM backend and kernel, and Host the machine.
	Threads  int             `json:"threads"`
	Backend  string          `json:"backend"`
	Host     string          `json:"host,omitempty"`
	RealData bool            `json:"reads_real_data"`
	Reads    string          `json:"reads"`
	Seconds  float64         `json:"seconds"`
	Finished time.Time       `json:"finished"`
	Result   json.RawMessage `json:"result"`
}

// Planned is one stage of a plan.
type Planned struct {
	Name string   `json:"name"`
	Deps []string `json:"deps"`
	Hash string   `json:"hash"`
	Dir  string   `json:"dir"`
	Done bool     `json:"done"`
	// Partial marks an unfinished directory (a killed run; resumed where
	// the stage keeps checkpoints).
	Partial bool `json:"partial,omitempty"`
	// Running names the worker that holds the stage's lock now ("host
	// pid N since …"), if one does.
	Running  string `json:"running,omitempty"`
	RealData bool   `json:"reads_real_data"`
	Reads    string `json:"reads"`
	Seed     uint64 `json:"seed"`
}

// Graph is a pipeline: stages in an order where every dependency comes
// first, the directory their outputs go in, and the thread count they run
// with.
//
// Threads enters every stage's hash. A stage's bytes are the same for the
// same seed and thread count, but OpenBLAS and oneDNN sum in another order
// with another thread count (an ANN trained on 1 thread differs in its
// last bits from one trained on 2), so a stage made with another thread
// count is another artifact, in another directory. Tasks that are to share
// a work directory (a sweep on a cluster) run with one thread count.
type Graph struct {
	Workdir string
	Threads int
	Stages  []Stage
}

// Plan hashes every stage and tells which are done.
func (g *Graph) Plan() ([]Planned, error) {
	hashes := map[string]string{}
	var out []Planned
	for _, s := range g.Stages {
		deps := map[string]string{}
		for _, d := range s.Deps {
			h, ok := hashes[d]
			if !ok {
				return nil, fmt.Errorf("pipeline: stage %s depends on %s, which is not before it", s.Name, d)
			}
			deps[d] = h
		}
		settings, err := json.Marshal(s.Settings)
		if err != nil {
			return nil, fmt.Errorf("pipeline: stage %s settings: %w", s.Name, err)
		}
		h := hashOf(s.Name, settings, deps, g.Threads)
		hashes[s.Name] = h
		p := Planned{Name: s.Name, Deps: s.Deps, Hash: h, Dir: filepath.Join(g.Workdir, s.Name+"-"+h[:12]), RealData: s.RealData, Reads: s.Reads, Seed: s.Seed}
		if _, err := os.Stat(filepath.Join(p.Dir, DoneFile)); err == nil {
			p.Done = true
		} else if _, err := os.Stat(p.Dir); err == nil {
			p.Partial = true
			if h, held, err := stagelock.Query(filepath.Join(p.Dir, LockFile)); err == nil && held {
				p.Running = fmt.Sprintf("%s pid %d since %s", h.Host, h.PID, h.Since.UTC().Format(time.RFC3339))
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func hashOf(name string, settings []byte, deps map[string]string, threads int) string {
	b, _ := json.Marshal(struct {
		Format   string            `json:"format"`
		Name     string            `json:"name"`
		Settings json.RawMessage   `json:"settings"`
		Deps     map[string]string `json:"deps"`
		Threads  int               `json:"threads"`
	}{FormatVersion, name, settings, deps, threads})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// resumed is a stage result that counts the time of the interrupted runs
// it resumed (stage.TrainResult, stage.EncryptResult): a stage's recorded
// time includes it.
type resumed interface{ EarlierSeconds() float64 }

// Executed is what Run did with one stage.
type Executed struct {
	Planned
	Cached  bool            `json:"cached"`
	Seconds float64         `json:"seconds"` // the stage's time (with the interrupted runs it resumed), or the recorded time when cached
	Result  json.RawMessage `json:"-"`
}

// Run executes the stages that are not done, in order, and returns every
// stage's output. A stage's directory is kept when it fails or is
// interrupted, so that a re-run resumes it. A stage that another process
// is running (it holds the stage's lock) is waited for and then read.
//
// p, when not nil, receives an event (Total 0) with the stage's name as
// Stage and an empty Label when a stage starts, and then the reports of
// the stage's libraries and its own events, with the stage's name as
// Stage. A non-nil error from it stops the run, as a cancellation does.
func (g *Graph) Run(ctx context.Context, p progress.Func) ([]Executed, error) {
	plan, err := g.Plan()
	if err != nil {
		return nil, err
	}
	outputs := Inputs{}
	var done []Executed
	for i, pl := range plan {
		s := g.Stages[i]
		if !pl.Done {
			if err := ctx.Err(); err != nil {
				return nil, &InterruptedError{Stage: s.Name, Resumes: s.Resumes, Done: len(done), Stages: len(plan), Err: err}
			}
		}
		e, err := g.runOne(ctx, plan, i, outputs, p)
		if ie, ok := errors.AsType[*InterruptedError](err); ok {
			ie.Done, ie.Stages = len(done), len(plan)
		}
		if err != nil {
			return nil, err
		}
		outputs[s.Name] = Output{Dir: e.Dir, Result: e.Result}
		done = append(done, *e)
	}
	return done, nil
}

// LockFile is the lock a worker holds on a stage directory while it runs
// the stage (package internal/stagelock: a POSIX record lock, which the
// system releases when its holder dies).
const LockFile = ".lock"

// lockPoll is how often a worker waiting for a stage (or its lock) looks.
var lockPoll = time.Second

// runOne runs stage i of plan unless it is done, holding its lock; outputs
// holds the finished outputs of the stages before it.
func (g *Graph) runOne(ctx context.Context, plan []Planned, i int, outputs Inputs, p progress.Func) (*Executed, error) {
	s, pl := g.Stages[i], plan[i]
	if pl.Done {
		return cached(pl)
	}
	if err := os.MkdirAll(pl.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	lockPath := filepath.Join(pl.Dir, LockFile)
	lock, err := stagelock.TryAcquire(lockPath)
	if errors.Is(err, stagelock.ErrHeld) {
		if err := p.WithStage(s.Name).Report(progress.Report{Label: fmt.Sprintf("waiting for %v", err)}); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		lock, err = stagelock.Acquire(ctx, lockPath, lockPoll)
	}
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		// No record locks on this system: one worker per work directory.
	case err != nil && ctx.Err() != nil:
		return nil, &InterruptedError{Stage: s.Name, Resumes: s.Resumes, Err: ctx.Err()}
	case err != nil:
		return nil, fmt.Errorf("stage %s: lock: %w", s.Name, err)
	default:
		defer lock.Release()
	}
	if exists(filepath.Join(pl.Dir, DoneFile)) { // another worker finished it while we waited
		pl.Done, pl.Partial = true, false
		return cached(pl)
	}
	in := Inputs{}
	for _, d := range s.Deps {
		o, ok := outputs[d]
		if !ok {
			return nil, fmt.Errorf("pipeline: stage %s needs %s, which is not done", s.Name, d)
		}
		in[d] = o
	}
	sp := p.WithStage(s.Name)
	if err := sp.Report(progress.Report{}); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	start := time.Now()
	res, err := s.Run(ctx, pl.Dir, in, sp)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil, &InterruptedError{Stage: s.Name, Resumes: s.Resumes, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", s.Name, err)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("stage %s: result: %w", s.Name, err)
	}
	settings, _ := json.Marshal(s.Settings)
	deps := map[string]string{}
	for _, d := range s.Deps {
		for _, q := range plan[:i] {
			if q.Name == d {
				deps[d] = q.Hash
			}
		}
	}
	host, _ := os.Hostname()
	rec := Record{Format: FormatVersion, Stage: s.Name, Hash: pl.Hash, Settings: settings, Deps: deps, Threads: g.Threads,
		Backend: backend(), Host: host, RealData: s.RealData, Reads: s.Reads,
		Seconds: time.Since(start).Seconds(), Finished: time.Now().UTC(), Result: raw}
	if r, ok := res.(resumed); ok {
		rec.Seconds += r.EarlierSeconds()
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(pl.Dir, DoneFile), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("stage %s: %w", s.Name, err)
	}
	return &Executed{Planned: pl, Seconds: rec.Seconds, Result: raw}, nil
}

// cached reads a finished stage's record.
func cached(pl Planned) (*Executed, error) {
	rec, err := readRecord(pl.Dir)
	if err != nil {
		return nil, err
	}
	return &Executed{Planned: pl, Cached: true, Seconds: rec.Seconds, Result: rec.Result}, nil
}

// RunStage runs the stage name alone, as a worker of a sweep does: it
// reads its dependencies' recorded outputs and runs it unless it is done
// (then it returns the record, Cached). When a dependency is not done it
// fails, or, with wait, waits for it (another worker is running it) until
// ctx ends.
func (g *Graph) RunStage(ctx context.Context, name string, wait bool, p progress.Func) (*Executed, error) {
	plan, err := g.Plan()
	if err != nil {
		return nil, err
	}
	idx := slices.IndexFunc(plan, func(q Planned) bool { return q.Name == name })
	if idx < 0 {
		return nil, fmt.Errorf("pipeline: no stage %s", name)
	}
	outputs := Inputs{}
	for _, d := range g.Stages[idx].Deps {
		j := slices.IndexFunc(plan, func(q Planned) bool { return q.Name == d })
		for !exists(filepath.Join(plan[j].Dir, DoneFile)) {
			if !wait {
				return nil, fmt.Errorf("pipeline: stage %s needs %s (%s), which is not done", name, d, plan[j].Dir)
			}
			select {
			case <-ctx.Done():
				return nil, &InterruptedError{Stage: name, Resumes: g.Stages[idx].Resumes, Err: ctx.Err()}
			case <-time.After(lockPoll):
			}
		}
		rec, err := readRecord(plan[j].Dir)
		if err != nil {
			return nil, err
		}
		outputs[d] = Output{Dir: plan[j].Dir, Result: rec.Result}
	}
	if plan[idx].Done {
		return cached(plan[idx])
	}
	e, err := g.runOne(ctx, plan, idx, outputs, p)
	if ie, ok := errors.AsType[*InterruptedError](err); ok {
		ie.Stages = 1 // this worker's one stage
	}
	return e, err
}

// InterruptedError is a run stopped by its context (Ctrl-C): the stages
// done are kept, and re-running the same configuration resumes it.
type InterruptedError struct {
	// Stage is the stage that was running or about to run; Resumes tells
	// whether it continues from a checkpoint.
	Stage   string
	Resumes bool
	// Done of Stages were finished (or cached).
	Done, Stages int
	Err          error
}

func (e *InterruptedError) Error() string {
	next := e.Stage + " starts over"
	if e.Resumes {
		next = e.Stage + " continues from its last checkpoint"
	}
	return fmt.Sprintf("interrupted at stage %s (%d of %d stages done); re-running the same configuration resumes the run: "+
		"the stages done are cached and %s", e.Stage, e.Done, e.Stages, next)
}

func (e *InterruptedError) Unwrap() error { return e.Err }

func readRecord(dir string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(dir, DoneFile))
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", filepath.Join(dir, DoneFile), err)
	}
	if r.Format != FormatVersion {
		return nil, fmt.Errorf("pipeline: %s: format %q, want %q", filepath.Join(dir, DoneFile), r.Format, FormatVersion)
	}
	return &r, nil
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}
