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
	"time"

	"github.com/privatesnn/privatesnn/internal/atomicfile"
	"github.com/privatesnn/privatesnn/progress"
)

// FormatVersion enters every stage's hash: a change to what a stage
// writes bumps it, so old stage directories are not reused.
const FormatVersion = "privatesnn.pipeline/v2"

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
	RealData bool              `json:"reads_real_data"`
	Reads    string            `json:"reads"`
	Seconds  float64           `json:"seconds"`
	Finished time.Time         `json:"finished"`
	Result   json.RawMessage   `json:"result"`
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
	Partial  bool   `json:"partial,omitempty"`
	RealData bool   `json:"reads_real_data"`
	Reads    string `json:"reads"`
	Seed     uint64 `json:"seed"`
}

// Graph is a pipeline: stages in an order where every dependency comes
// first, and the directory their outputs go in.
type Graph struct {
	Workdir string
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
		h := hashOf(s.Name, settings, deps)
		hashes[s.Name] = h
		p := Planned{Name: s.Name, Deps: s.Deps, Hash: h, Dir: filepath.Join(g.Workdir, s.Name+"-"+h[:12]), RealData: s.RealData, Reads: s.Reads, Seed: s.Seed}
		if _, err := os.Stat(filepath.Join(p.Dir, DoneFile)); err == nil {
			p.Done = true
		} else if _, err := os.Stat(p.Dir); err == nil {
			p.Partial = true
		}
		out = append(out, p)
	}
	return out, nil
}

func hashOf(name string, settings []byte, deps map[string]string) string {
	b, _ := json.Marshal(struct {
		Format   string            `json:"format"`
		Name     string            `json:"name"`
		Settings json.RawMessage   `json:"settings"`
		Deps     map[string]string `json:"deps"`
	}{FormatVersion, name, settings, deps})
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
// interrupted, so that a re-run resumes it.
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
		if pl.Done {
			rec, err := readRecord(pl.Dir)
			if err != nil {
				return nil, err
			}
			outputs[s.Name] = Output{Dir: pl.Dir, Result: rec.Result}
			done = append(done, Executed{Planned: pl, Cached: true, Seconds: rec.Seconds, Result: rec.Result})
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, &InterruptedError{Stage: s.Name, Resumes: s.Resumes, Done: len(done), Stages: len(plan), Err: err}
		}
		if err := os.MkdirAll(pl.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		in := Inputs{}
		for _, d := range s.Deps {
			in[d] = outputs[d]
		}
		sp := p.WithStage(s.Name)
		if err := sp.Report(progress.Report{}); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		start := time.Now()
		res, err := s.Run(ctx, pl.Dir, in, sp)
		if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, &InterruptedError{Stage: s.Name, Resumes: s.Resumes, Done: len(done), Stages: len(plan), Err: err}
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
		rec := Record{Format: FormatVersion, Stage: s.Name, Hash: pl.Hash, Settings: settings, Deps: deps, RealData: s.RealData, Reads: s.Reads,
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
		outputs[s.Name] = Output{Dir: pl.Dir, Result: raw}
		done = append(done, Executed{Planned: pl, Seconds: rec.Seconds, Result: raw})
	}
	return done, nil
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
