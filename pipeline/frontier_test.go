package pipeline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/leakage"
	"github.com/privatesnn/privatesnn/report"
	"github.com/privatesnn/privatesnn/stage"
)

// frontierConfig returns the defaults with two strengths of negative label
// smoothing, one trapdoor rate and one erase rate.
func frontierConfig(t *testing.T) Config {
	c := Defaults()
	c.Name, c.Workdir = "t", t.TempDir()
	c.Frontier.Smoothing = []float64{-0.1, -0.25}
	c.Frontier.TrapdoorRate = []float64{0.2}
	c.Frontier.EraseRate = []float64{0.5}
	return c
}

// stageOf returns the stage of g named name.
func stageOf(t *testing.T, g *Graph, name string) Stage {
	t.Helper()
	i := slices.IndexFunc(g.Stages, func(s Stage) bool { return s.Name == name })
	if i < 0 {
		t.Fatalf("no stage %s", name)
	}
	return g.Stages[i]
}

// TestFrontierGraph: every listed strength makes one CET + OD stage with
// the encrypt section's settings plus that defence, evaluated by eval (as
// a sweep, not in the energy estimate) and audited by frontier-audit with
// DC, DC + CET + OD and DC + CET, by both evaluators and with the
// frontier's audit settings.
func TestFrontierGraph(t *testing.T) {
	c := frontierConfig(t)
	g := Build(c)
	defended := []string{"frontier-nls-0.1", "frontier-nls-0.25", "frontier-trapdoor-0.2", "frontier-erase-0.5"}
	main := encryptSettings(c.Encrypt, c.Encrypt.PerClass, true, c.Seed)
	for i, name := range defended {
		s := stageOf(t, g, name)
		got, ok := s.Settings.(stage.EncryptSettings)
		if !ok {
			t.Fatalf("%s: settings %T", name, s.Settings)
		}
		want := main
		switch i {
		case 0, 1:
			want.LabelSmoothing = c.Frontier.Smoothing[i]
		case 2:
			want.TrapdoorRate = 0.2
		case 3:
			want.EraseRate = 0.5
		}
		if !equalJSON(t, got, want) || !got.Distill || !slices.Equal(s.Deps, []string{"ann", "synth", "convert"}) || !s.Resumes {
			t.Errorf("%s: settings %+v, deps %v; want %+v", name, got, s.Deps, want)
		}
	}
	fa := stageOf(t, g, "frontier-audit")
	wantDeps := append(append([]string{"synth", "convert", "encrypt", "encrypt-cet"}, defended...), "evaluator", "evaluator2")
	if !slices.Equal(fa.Deps, wantDeps) || !fa.RealData {
		t.Errorf("frontier-audit deps %v, want %v", fa.Deps, wantDeps)
	}
	settings := fa.Settings.(map[string]any)
	au := settings["audit"].(audit.Settings)
	if au.PerClass != FrontierPerClass || au.Methods.String() != "attack2,attack3,attack3-aware" || au.Seed != c.Seed || !equalJSON(t, au.Attack2, c.Audit.Attack2) {
		t.Errorf("frontier audit %+v", au)
	}
	models := settings["models"].([]string)
	if len(models) != 7 || models[0] != "DC" || models[1] != "DC + CET + OD" || models[2] != "DC + CET" || models[3] != "DC + CET + OD + NLS α=-0.1" {
		t.Errorf("frontier-audit models %q", models)
	}
	for _, name := range defended {
		if !slices.Contains(stageOf(t, g, "eval").Deps, "eval-"+name) || !slices.Equal(stageOf(t, g, "eval-"+name).Deps, []string{name}) {
			t.Errorf("eval does not evaluate %s", name)
		}
		if slices.Contains(stageOf(t, g, "energy").Deps, name) || slices.Contains(stageOf(t, g, "audit").Deps, name) {
			t.Errorf("energy or audit reads %s", name)
		}
	}
	if g.Stages[len(g.Stages)-1].Name != "frontier-audit" {
		t.Errorf("last stage %s", g.Stages[len(g.Stages)-1].Name)
	}
	if _, err := g.Plan(); err != nil {
		t.Fatal(err)
	}
	// Without the ablation, frontier-audit does not read encrypt-cet.
	c.Encrypt.Ablation = false
	if deps := stageOf(t, Build(c), "frontier-audit").Deps; slices.Contains(deps, "encrypt-cet") || len(deps) != len(wantDeps)-1 {
		t.Errorf("frontier-audit deps without the ablation: %v", deps)
	}
}

// equalJSON reports whether a and b have the same JSON form.
func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// TestFrontierAbsent: without strengths there is no frontier stage, and a
// frontier changes the hash of no stage but eval (which gathers the
// evaluations of its models): the stages of a run without one, and their caches, stay as
// they were.
func TestFrontierAbsent(t *testing.T) {
	c := frontierConfig(t)
	with := planOf(t, c)
	c.Frontier.Smoothing, c.Frontier.TrapdoorRate, c.Frontier.EraseRate = nil, nil, nil
	without := planOf(t, c)
	var names []string
	for _, s := range Build(c).Stages {
		names = append(names, s.Name)
	}
	want := []string{"ann", "synth", "convert", "encrypt", "encrypt-cet", "eval-ann", "eval-convert", "eval-encrypt", "eval-encrypt-cet", "eval",
		"evaluator", "evaluator2", "audit", "energy"}
	if !slices.Equal(names, want) {
		t.Errorf("stages %v, want %v", names, want)
	}
	for name, h := range without {
		if (with[name] != h) != (name == "eval") {
			t.Errorf("a frontier changes %s's hash: %v", name, with[name] != h)
		}
	}
	// The frontier's audit settings alone change nothing.
	c.Frontier.Audit.PerClass = 3
	for name, h := range planOf(t, c) {
		if without[name] != h {
			t.Errorf("frontier.audit changes %s's hash", name)
		}
	}
}

// TestFrontierConfig: the frontier's keys parse, its audit follows the
// audit section's settings unless given, and strengths out of range,
// zero or listed twice are refused with the key.
func TestFrontierConfig(t *testing.T) {
	c, err := Parse([]byte(`
name = "t"
[audit]
bootstrap = 50
[audit.attack2]
iterations = 7
[frontier]
label_smoothing = [-0.05, -0.4]
trapdoor_rate = [0.1]
erase_rate = [1.0]
`), true)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Frontier
	if !slices.Equal(f.Smoothing, []float64{-0.05, -0.4}) || !slices.Equal(f.TrapdoorRate, []float64{0.1}) || !slices.Equal(f.EraseRate, []float64{1}) {
		t.Errorf("frontier %+v", f)
	}
	if f.Audit.PerClass != FrontierPerClass || f.Audit.Bootstrap != 50 || f.Audit.Attack2.Iterations != 7 || f.Audit.Methods.String() != FrontierMethodsText {
		t.Errorf("frontier audit %+v: want the audit section's settings with the frontier's images and attacks", f.Audit)
	}
	if c.Audit.PerClass == FrontierPerClass && c.Audit.Methods.String() == FrontierMethodsText {
		t.Error("the frontier's defaults replaced the audit section's")
	}
	c, err = Parse([]byte("name = \"t\"\n[frontier.audit]\nper_class = 4\nmethods = [\"attack3\"]\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Frontier.Audit.PerClass != 4 || c.Frontier.Audit.Methods.String() != "attack3" || c.Frontier.Audit.Bootstrap != c.Audit.Bootstrap {
		t.Errorf("frontier audit %+v", c.Frontier.Audit)
	}
	for text, want := range map[string]string{
		"label_smoothing = [0.1]":       "frontier.label_smoothing 0.1",
		"label_smoothing = [0.0]":       "frontier.label_smoothing 0",
		"label_smoothing = [-1.5]":      "frontier.label_smoothing -1.5",
		"trapdoor_rate = [0.0]":         "frontier.trapdoor_rate 0",
		"trapdoor_rate = [1.5]":         "frontier.trapdoor_rate 1.5",
		"erase_rate = [0.5, 0.5]":       "frontier.erase_rate lists 0.5 twice",
		"erase_rate = [-0.5]":           "frontier.erase_rate -0.5",
		"audit.per_class = 0":           "frontier.audit",
		"audit.methods = [\"attack9\"]": "attack9",
	} {
		_, err := Parse([]byte("name = \"t\"\n[frontier]\n"+text+"\n"), true)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", text, err, want)
		}
	}
}

// TestFrontierStageNames: stage names are unique and safe as file names.
func TestFrontierStageNames(t *testing.T) {
	c := Defaults()
	c.Frontier.Smoothing = []float64{-1e-5, -0.1}
	c.Frontier.TrapdoorRate = []float64{0.1, 1}
	seen := map[string]bool{}
	for _, p := range frontierPoints(c) {
		n := p.target.stage
		if seen[n] || n != fileSafe(n) || strings.ContainsAny(n, "/\\ ") {
			t.Errorf("stage name %q: duplicate or unsafe", n)
		}
		seen[n] = true
	}
	for _, n := range []string{"frontier-nls-1e-05", "frontier-nls-0.1", "frontier-trapdoor-0.1", "frontier-trapdoor-1"} {
		if !seen[n] {
			t.Errorf("no stage %s among %v", n, seen)
		}
	}
	if got := fileSafe("a+b/c d"); got != "a-b-c-d" {
		t.Errorf("fileSafe: %q", got)
	}
}

// TestReportFrontier: the report's frontier takes each model's accuracy
// from eval and its worst case from frontier-audit, with DC and DC + CET
// as references and DC + CET + OD as the lines' start; Table 4 shows
// every evaluator's top-1 with its interval, the worst cases and the
// paired differences of the main audit.
func TestReportFrontier(t *testing.T) {
	c := frontierConfig(t)
	points := frontierPoints(c)
	ev := EvalResult{Models: []Evaluated{
		{Name: "DC", Stage: "convert", Role: RoleDC, Kind: "snn", Timesteps: 8, Accuracy: 0.86},
		{Name: "DC + CET + OD", Stage: "encrypt", Role: RoleCETOD, Kind: "snn", Timesteps: 8, Accuracy: 0.9, PerClass: 20},
		{Name: "DC + CET", Stage: "encrypt-cet", Role: RoleCET, Kind: "snn", Timesteps: 8, Accuracy: 0.87, PerClass: 20},
	}}
	worst := []audit.Worst{
		{Model: "DC", Attack: "attack2", Evaluator: "E1", Top1: 0.7, Top1CI: leakage.Interval{Lo: 0.64, Hi: 0.75}},
		{Model: "DC + CET + OD", Attack: "attack3", Evaluator: "E2", Top1: 0.6, Top1CI: leakage.Interval{Lo: 0.54, Hi: 0.66}},
		{Model: "DC + CET", Attack: "attack2", Evaluator: "E2", Top1: 0.65, Top1CI: leakage.Interval{Lo: 0.59, Hi: 0.7}},
	}
	for i, p := range points {
		ev.Models = append(ev.Models, Evaluated{Name: p.target.name, Stage: p.target.stage, Role: RoleFrontier, Sweep: true, Kind: "snn",
			Timesteps: 8, Accuracy: 0.88 - 0.01*float64(i), PerClass: 20})
		worst = append(worst, audit.Worst{Model: p.target.name, Attack: "attack2", Evaluator: "E1", Top1: 0.5 - 0.05*float64(i),
			Top1CI: leakage.Interval{Lo: 0.45 - 0.05*float64(i), Hi: 0.55 - 0.05*float64(i)}})
	}
	opts := audit.Options{Methods: FrontierMethods()}
	fa := AuditResult{AuditRecord: &stage.AuditRecord{Report: &audit.Report{Options: opts, Chance: 0.1, WorstCase: worst}}}
	self := 0.95
	row := audit.Row{Model: "DC", Set: "attack2", Self: &self, Score: leakage.Score{Images: 100, Top1: 0.7, Top1CI: leakage.Interval{Lo: 0.6, Hi: 0.78},
		FD: 50, FDCI: &leakage.Interval{Lo: 45, Hi: 55}}, More: []leakage.Score{{Images: 100, Top1: 0.65, Top1CI: leakage.Interval{Lo: 0.55, Hi: 0.74}}}}
	au := AuditResult{AuditRecord: &stage.AuditRecord{Report: &audit.Report{Options: opts, Chance: 0.1, Rows: []audit.Row{row}, WorstCase: worst[:1],
		Pairs:      []audit.Pair{{Attack: "attack2", Model: "DC + CET + OD", Against: "DC", Evaluator: "E1", Diff: -0.1, CI: leakage.Interval{Lo: -0.2, Hi: 0.01}}},
		Evaluators: []audit.EvaluatorInfo{{Name: "E1"}, {Name: "E2"}}}}}
	md := reportOfConfig(t, c, executed(t, "eval", ev), executed(t, "audit", au), executed(t, "frontier-audit", fa))
	table2 := section(md, "## Table 2")
	if strings.Contains(table2, "NLS") || strings.Contains(section(md, "## Figure 5b"), "NLS") {
		t.Errorf("frontier models in Table 2 or Fig. 5b:\n%s", table2)
	}
	fr := section(md, "## Privacy–accuracy frontier")
	for _, want := range []string{
		"| DC | none | – | 86.0 % | 70.0 % \\[64.0, 75.0\\] | Attack 2",
		"| DC + CET | none | – | 87.0 % | 65.0 % \\[59.0, 70.0\\] | Attack 2",
		"| DC + CET + OD | none | 0 | 90.0 % | 60.0 % \\[54.0, 66.0\\] | Attack 3",
		"| DC + CET + OD + NLS α=-0.1 | negative label smoothing (α) | -0.1 | 88.0 % | 50.0 % \\[45.0, 55.0\\] | Attack 2",
		"| DC + CET + OD + erasing p=0.5 | random erasing (p) | 0.5 | 85.0 % | 35.0 % \\[30.0, 40.0\\] | Attack 2",
		"](figures/frontier.png)",
	} {
		if !strings.Contains(fr, want) {
			t.Errorf("the frontier lacks %q:\n%s", want, fr)
		}
	}
	t4 := section(md, "## Table 4")
	for _, want := range []string{
		"| top-1, E1 \\[95 % CI\\] | top-1, E2 \\[95 % CI\\] | top-3 | confidence | FD (evaluator features) \\[95 % CI\\] |",
		"| 95.0 % | 70.0 % \\[60.0, 78.0\\] | 65.0 % \\[55.0, 74.0\\] |",
		"| 50.0 \\[45.0, 55.0\\] |",
		"| DC | 70.0 % \\[64.0, 75.0\\] | Attack 2",
		"| DC + CET + OD − DC | E1 | −10.0 pp \\[−20.0, +1.0\\] |",
	} {
		if !strings.Contains(t4, want) {
			t.Errorf("Table 4 lacks %q:\n%s", want, t4)
		}
	}
}

// reportOfConfig writes the report of the executed stages of a run with
// configuration c and returns report.md.
func reportOfConfig(t *testing.T, c Config, done ...Executed) string {
	t.Helper()
	dir := t.TempDir()
	if err := WriteReport(dir, c, "", "privatesnn run x.toml", time.Now(), done); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, report.MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
