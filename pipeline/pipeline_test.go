package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/vgg"
)

func TestParseTOML(t *testing.T) {
	c, err := Parse([]byte(`
name = "t"
seed = 3
[ann]
epochs = 2
[encrypt]
per_class = 5
samples = [2, 5]
[audit]
per_class = 2
methods = ["1", "3"]
[audit.attack2]
iterations = 7
`), true)
	if err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	if c.Name != "t" || c.Seed != 3 || c.ANN.Epochs != 2 || c.ANN.LR != d.ANN.LR || c.Encrypt.PerClass != 5 || len(c.Encrypt.Samples) != 2 {
		t.Errorf("parsed %+v", c)
	}
	if c.Audit.Attack2.Iterations != 7 || c.Audit.Attack2.Step != d.Audit.Attack2.Step {
		t.Errorf("attack2 %+v: a nested key replaces only itself", c.Audit.Attack2)
	}
	if len(c.Audit.Methods) != 2 || c.Audit.Methods[1].Method != attack.SNNInversion {
		t.Errorf("methods %v", c.Audit.Methods)
	}
	for name, text := range map[string]string{
		"unknown key":     "name = \"t\"\n[ann]\nepoch = 2\n",
		"bad name":        "name = \"../x\"\n",
		"samples":         "name = \"t\"\n[encrypt]\nsamples = [501]\n",
		"bad toml":        "name = \n",
		"unknown method":  "name = \"t\"\n[audit]\nmethods = [\"6\"]\n",
		"per class":       "name = \"t\"\n[synth]\nper_class = 5\n[encrypt]\nper_class = 6\n",
		"unknown section": "name = \"t\"\n[trian]\n",
		"unknown data":    "name = \"t\"\n[data]\nname = \"imagenet\"\n",
		"empty data":      "name = \"t\"\n[data]\nname = \"\"\n",
	} {
		if _, err := Parse([]byte(text), true); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestShippedConfigs(t *testing.T) {
	files, err := filepath.Glob("../configs/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs: %v", err)
	}
	more, _ := filepath.Glob("../scripts/slurm/*.toml")
	files = append(files, more...)
	for _, f := range files {
		if _, err := LoadSweep(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func planOf(t *testing.T, c Config) map[string]string {
	t.Helper()
	p, err := Build(c).Plan()
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{}
	for _, s := range p {
		h[s.Name] = s.Hash
	}
	return h
}

// Changing the encryption settings changes the hashes of encrypt and what
// depends on it, and nothing before it.
func TestPlanHashes(t *testing.T) {
	c := Defaults()
	c.Name, c.Workdir = "t", t.TempDir()
	a := planOf(t, c)
	c.Encrypt.Epochs++
	b := planOf(t, c)
	changed := map[string]bool{}
	for name := range a {
		changed[name] = a[name] != b[name]
	}
	for name, want := range map[string]bool{"ann": false, "synth": false, "convert": false, "evaluator": false,
		"encrypt": true, "encrypt-cet": true, "eval": true, "audit": true, "energy": true} {
		if changed[name] != want {
			t.Errorf("%s changed %v, want %v", name, changed[name], want)
		}
	}
	c2 := Defaults()
	c2.Name, c2.Workdir = "t", c.Workdir
	c2.Audit.PerClass = 3
	d := planOf(t, c2)
	for name := range a {
		if (a[name] != d[name]) != (name == "audit") {
			t.Errorf("audit per_class changed %s's hash: %v", name, a[name] != d[name])
		}
	}
}

// An audit whose attacks include one that changed under its name (the
// aware Attack 3) hashes its attacks' revisions, so a cached audit of the
// earlier form runs again; an audit of unchanged attacks keeps the
// settings, and so the hash, it had before revisions were recorded.
func TestAuditRevisionsEnterHash(t *testing.T) {
	settingsOf := func(c Config) map[string]any {
		for _, s := range Build(c).Stages {
			if s.Name == "audit" {
				return s.Settings.(map[string]any)
			}
		}
		t.Fatal("no audit stage")
		return nil
	}
	c := Defaults()
	c.Name, c.Workdir = "t", t.TempDir()
	got := settingsOf(c)["attack_revisions"]
	want := map[string]int{"attack3-triangle-direct-aware": 1, "attack3-fast-sigmoid-direct-aware": 1, "attack3-atan-direct-aware": 1}
	if !maps.Equal(got.(map[string]int), want) {
		t.Errorf("worst-case audit: attack_revisions %v, want %v", got, want)
	}
	a := planOf(t, c)
	c.Audit.Methods = audit.Of(attack.Visualize, attack.SNNInversion)
	s := settingsOf(c)
	if _, ok := s["attack_revisions"]; ok {
		t.Errorf("audit of unchanged attacks records revisions: %v", s)
	}
	old, _ := json.Marshal(map[string]any{"audit": c.Audit, "data": c.Data})
	now, _ := json.Marshal(s)
	if string(old) != string(now) {
		t.Errorf("audit of unchanged attacks: settings\n%s\nwant those of before revisions\n%s", now, old)
	}
	if b := planOf(t, c); b["audit"] == a["audit"] {
		t.Error("dropping the aware attacks left the audit's hash unchanged")
	}
}

// Run skips finished stages, keeps an interrupted stage's directory and
// re-runs only what is not done.
func TestRunCaching(t *testing.T) {
	dir := t.TempDir()
	calls := map[string]int{}
	fail := true
	mk := func(name string, deps ...string) Stage {
		return Stage{Name: name, Deps: deps, Settings: map[string]string{"n": name},
			Run: func(ctx context.Context, d string, in Inputs, p progress.Func) (any, error) {
				calls[name]++
				for _, dep := range deps {
					var v map[string]string
					if err := in.Decode(dep, &v); err != nil || v["from"] != dep {
						t.Errorf("%s: input %s = %v, %v", name, dep, v, err)
					}
				}
				if name == "b" && fail {
					if err := os.WriteFile(filepath.Join(d, "checkpoint"), []byte("x"), 0o644); err != nil {
						t.Fatal(err)
					}
					return nil, errors.New("killed")
				}
				if name == "b" && !exists(filepath.Join(d, "checkpoint")) {
					t.Error("b's checkpoint is gone after the failure")
				}
				return map[string]string{"from": name}, nil
			}}
	}
	g := &Graph{Workdir: dir, Stages: []Stage{mk("a"), mk("b", "a"), mk("c", "b")}}
	if _, err := g.Run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "stage b: killed") {
		t.Fatalf("first run: %v", err)
	}
	plan, _ := g.Plan()
	if !plan[0].Done || plan[1].Done || !plan[1].Partial || plan[2].Done {
		t.Fatalf("plan after the failure: %+v", plan)
	}
	fail = false
	done, err := g.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls["a"] != 1 || calls["b"] != 2 || calls["c"] != 1 || !done[0].Cached || done[1].Cached {
		t.Fatalf("calls %v, cached %v %v", calls, done[0].Cached, done[1].Cached)
	}
	if _, err := g.Run(context.Background(), nil); err != nil || calls["a"] != 1 || calls["b"] != 2 || calls["c"] != 1 {
		t.Fatalf("unchanged re-run ran stages: %v %v", calls, err)
	}
	// A dependency that is not before its user is an error.
	bad := &Graph{Workdir: dir, Stages: []Stage{mk("c", "b")}}
	if _, err := bad.Plan(); err == nil {
		t.Error("no error for a missing dependency")
	}
}

// The ann stage imports a bare state_dict (no card) as it imports the same
// weights from a model directory: same architecture, same test accuracy,
// and a card that names the file.
func TestImportStateDict(t *testing.T) {
	ctx := context.Background()
	d := data.Spec{Name: "embedded", Limit: 64}
	a := ANNConfig{TrainSettings: stage.DefaultTrainSettings()}
	a.Features, a.Hidden = vgg.FeatureList{4, vgg.Pool}, &vgg.Widths{8}
	set, err := d.Load(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := a.Spec.Config(set.Channels, set.Height, set.Width, set.Classes)
	if err != nil {
		t.Fatal(err)
	}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	card := modelfile.Card{Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}, ClassNames: set.ClassNames}
	if err := modelfile.Save(src, m, card); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(src, modelfile.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(t.TempDir(), "vgg.safetensors")
	if err := os.WriteFile(bare, b, 0o644); err != nil {
		t.Fatal(err)
	}
	a.Import = src
	fromDir, err := importANN(ctx, t.TempDir(), "test", d, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	a.Import = bare
	fromFile, err := importANN(ctx, out, "test", d, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fromFile.Model.Features, fromDir.Model.Features) || fromFile.Params != fromDir.Params || fromFile.TestAccuracy != fromDir.TestAccuracy {
		t.Fatalf("state_dict import %+v, directory import %+v", fromFile, fromDir)
	}
	_, got, err := modelfile.Load(filepath.Join(out, ModelDir))
	if err != nil {
		t.Fatal(err)
	}
	if got.Provenance.Software != "test" {
		t.Errorf("card names the software %q, want the run's %q", got.Provenance.Software, "test")
	}
	if got.Provenance.Imported != bare || got.Model.Hidden[0] != 8 {
		t.Fatalf("card %+v", got)
	}
	// Pools the weights cannot confirm: a missing pool changes the
	// classifier's input size, which the import refuses.
	a.Features = vgg.FeatureList{4}
	if _, err := importANN(ctx, t.TempDir(), "test", d, a, nil); !errors.Is(err, modelfile.ErrStateDict) {
		t.Fatalf("wrong pools: %v", err)
	}
}

// Run forwards its stages' reports with the stage's name, after an event
// that starts each stage; a callback's error stops the run, wrapped, and
// leaves the stage unfinished.
func TestRunProgress(t *testing.T) {
	mk := func(name string) Stage {
		return Stage{Name: name, Settings: name, Run: func(ctx context.Context, d string, in Inputs, p progress.Func) (any, error) {
			for i := range 2 {
				if err := p.Report(progress.Report{Label: "steps", Done: i + 1, Total: 2}); err != nil {
					return nil, err
				}
			}
			return name, nil
		}}
	}
	stages := []Stage{mk("a"), mk("b")}
	rec := &progresstest.Recorder{T: t}
	if _, err := (&Graph{Workdir: t.TempDir(), Stages: stages}).Run(context.Background(), rec.Func()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rec.Reports {
		got = append(got, fmt.Sprintf("%s %d/%d", r.Name(), r.Done, r.Total))
	}
	want := []string{"a 0/0", "a steps 1/2", "a steps 2/2", "b 0/0", "b steps 1/2", "b steps 2/2"}
	if !slices.Equal(got, want) {
		t.Fatalf("reports %q, want %q", got, want)
	}
	for _, stop := range []int{4, 5} { // b's start, b's first step
		dir := t.TempDir()
		rec := &progresstest.Recorder{T: t, StopAfter: stop}
		g := &Graph{Workdir: dir, Stages: stages}
		_, err := g.Run(context.Background(), rec.Func())
		rec.CheckStopped(err)
		plan, err := g.Plan()
		if err != nil {
			t.Fatal(err)
		}
		if !plan[0].Done || plan[1].Done {
			t.Fatalf("stopped at report %d: stages done %v, %v; want a only", stop, plan[0].Done, plan[1].Done)
		}
	}
}
