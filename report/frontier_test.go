package report

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleFrontier is a frontier of two defences, DC and DC + CET as
// references and chance at 10 %; the trapdoor's points are given out of
// order of strength.
func sampleFrontier() *Frontier {
	pt := func(model string, strength, acc, top1, lo, hi float64) FrontierPoint {
		return FrontierPoint{Model: model, Strength: strength, Accuracy: acc, Top1: top1, CI: Interval{Lo: lo, Hi: hi}, Attack: "Attack 2", Evaluator: "E2"}
	}
	base := pt("DC + CET + OD", 0, 0.90, 0.60, 0.54, 0.66)
	return &Frontier{
		Base:       &base,
		References: []FrontierPoint{pt("DC", 0, 0.86, 0.70, 0.64, 0.75), pt("DC + CET", 0, 0.87, 0.65, 0.59, 0.70)},
		Lines: []FrontierLine{
			{Defense: "negative label smoothing (α)", Points: []FrontierPoint{pt("NLS 0.1", -0.1, 0.89, 0.50, 0.44, 0.56), pt("NLS 0.4", -0.4, 0.80, 0.20, 0.15, 0.25)}},
			{Defense: "trapdoor (ρ)", Points: []FrontierPoint{pt("trapdoor 0.4", 0.4, 0.84, 0.30, 0.25, 0.36), pt("trapdoor 0.1", 0.1, 0.885, 0.55, 0.49, 0.61)}},
		},
		Chance: 0.1,
	}
}

// TestFrontier: the frontier section has its figure (a PNG that is not
// blank) and one table row per model, each line's points in order of
// strength after the references and the base.
func TestFrontier(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, &Data{Title: "Frontier", Frontier: sampleFrontier()}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FiguresDir, "frontier.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if colours, nonWhite := blankness(img); colours <= 2 || nonWhite <= 0.01 {
		t.Errorf("frontier.png looks blank: %d colours, %.2f %% not white", colours, 100*nonWhite)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w < 500 || h < 350 {
		t.Errorf("frontier.png is %d×%d, too small to read", w, h)
	}
	md := read(t, filepath.Join(dir, MarkdownFile))
	rows := []string{
		"| model | defence | strength | test accuracy | worst-case top-1 [95 % CI] | attack | evaluator |",
		"| DC | none | – | 86.0 % | 70.0 % [64.0, 75.0] | Attack 2 | E2 |",
		"| DC + CET | none | – | 87.0 % | 65.0 % [59.0, 70.0] | Attack 2 | E2 |",
		"| DC + CET + OD | none | 0 | 90.0 % | 60.0 % [54.0, 66.0] | Attack 2 | E2 |",
		"| NLS 0.1 | negative label smoothing (α) | -0.1 | 89.0 % | 50.0 % [44.0, 56.0] | Attack 2 | E2 |",
		"| NLS 0.4 | negative label smoothing (α) | -0.4 | 80.0 % | 20.0 % [15.0, 25.0] | Attack 2 | E2 |",
		"| trapdoor 0.1 | trapdoor (ρ) | 0.1 | 88.5 % | 55.0 % [49.0, 61.0] | Attack 2 | E2 |",
		"| trapdoor 0.4 | trapdoor (ρ) | 0.4 | 84.0 % | 30.0 % [25.0, 36.0] | Attack 2 | E2 |",
	}
	last := -1
	for _, r := range rows {
		r = brackets.Replace(r)
		i := strings.Index(md, r)
		if i < 0 {
			t.Errorf("report.md lacks %q", r)
			continue
		}
		if i < last {
			t.Errorf("row %q is out of order", r)
		}
		last = i
	}
	for _, s := range []string{"## Privacy–accuracy frontier", "](figures/frontier.png)", "starting from DC + CET + OD (strength 0)", "the dashed line is chance"} {
		if !strings.Contains(md, s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
	if strings.Contains(md, "No privacy–accuracy frontier") {
		t.Error("the frontier is listed as not run")
	}
}

// TestFrontierNotFinite: a point that cannot be drawn is an error naming
// its model, and nothing is written; a frontier without points is left
// out.
func TestFrontierNotFinite(t *testing.T) {
	for name, spoil := range map[string]func(f *Frontier){
		"accuracy": func(f *Frontier) { f.Lines[0].Points[1].Accuracy = math.NaN() },
		"top-1":    func(f *Frontier) { f.Lines[0].Points[1].Top1 = math.Inf(1) },
		"interval": func(f *Frontier) { f.Lines[0].Points[1].CI.Hi = math.NaN() },
		"strength": func(f *Frontier) { f.Lines[0].Points[1].Strength = math.Inf(-1) },
	} {
		f := sampleFrontier()
		spoil(f)
		dir := t.TempDir()
		err := Write(dir, &Data{Frontier: f})
		if err == nil || !strings.Contains(err.Error(), `"NLS 0.4"`) {
			t.Errorf("%s: got %v, want an error naming the model", name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, MarkdownFile)); !os.IsNotExist(err) {
			t.Errorf("%s: report.md written despite the error (stat: %v)", name, err)
		}
	}
	f := sampleFrontier()
	f.Chance = math.NaN()
	if err := Write(t.TempDir(), &Data{Frontier: f}); err == nil || !strings.Contains(err.Error(), "chance") {
		t.Errorf("NaN chance: got %v", err)
	}
	dir := t.TempDir()
	if err := Write(dir, &Data{Frontier: &Frontier{Lines: []FrontierLine{{Defense: "trapdoor (ρ)"}}}}); err != nil {
		t.Fatal(err)
	}
	if md := read(t, filepath.Join(dir, MarkdownFile)); !strings.Contains(md, "No privacy–accuracy frontier in this run.") {
		t.Error("a frontier without points is not reported as not run")
	}
}

// TestFrontierOnlyReferences: a frontier of references alone (no base, no
// line) still draws its markers.
func TestFrontierOnlyReferences(t *testing.T) {
	dir := t.TempDir()
	f := &Frontier{References: []FrontierPoint{{Model: "DC", Accuracy: 0.8, Top1: 0.5, CI: Interval{Lo: 0.4, Hi: 0.6}}}}
	if err := Write(dir, &Data{Frontier: f}); err != nil {
		t.Fatal(err)
	}
	md := read(t, filepath.Join(dir, MarkdownFile))
	if !strings.Contains(md, "](figures/frontier.png)") || !strings.Contains(md, brackets.Replace("| DC | none | – | 80.0 % | 50.0 % [40.0, 60.0] | – | – |")) {
		t.Errorf("report.md:\n%s", md)
	}
}

// TestLeakageIntervals: Table 4 names the evaluators in its header and
// shows every evaluator's top-1 with its interval and FD's bootstrap
// interval; the worst cases and the paired differences follow as tables.
func TestLeakageIntervals(t *testing.T) {
	self := 0.9
	d := &Data{
		LeakageEvaluators: []string{"E1", "E2"},
		Leakage: []LeakageRow{
			{Set: "Attack 2 (SNN gradient)", Model: "DC", Self: &self, Top1: 0.42, Top1CI: &Interval{Lo: 0.351, Hi: 0.493}, Top3: 0.6, Confidence: 0.3,
				FD: 120, FDCI: &Interval{Lo: 110.04, Hi: 131.96}, Images: 200, More: []EvaluatorTop1{{Evaluator: "E2", Top1: 0.5, CI: Interval{Lo: 0.43, Hi: 0.57}}}},
			{Set: "uniform noise", Top1: 0.1, Top1CI: &Interval{Lo: 0.07, Hi: 0.15}, Top3: 0.3, Confidence: 0.1, FD: 900, Images: 200},
		},
		WorstCase: []WorstCase{{Model: "DC", Attack: "Attack 2 (SNN gradient)", Evaluator: "E2", Top1: 0.5, CI: Interval{Lo: 0.43, Hi: 0.57}}},
		Pairs: []PairedDifference{
			{Attack: "Attack 2 (SNN gradient)", Model: "DC + CET + OD", Against: "DC", Evaluator: "E1", Diff: -0.035, CI: Interval{Lo: -0.1012, Hi: 0.03}},
		},
	}
	dir := t.TempDir()
	if err := Write(dir, d); err != nil {
		t.Fatal(err)
	}
	md := section4(read(t, filepath.Join(dir, MarkdownFile)))
	for _, s := range []string{
		"| images | model | count | attacked model's hit rate | top-1, E1 [95 % CI] | top-1, E2 [95 % CI] | top-3 | confidence | FD (evaluator features) [95 % CI] |",
		"| Attack 2 (SNN gradient) | DC | 200 | 90.0 % | 42.0 % [35.1, 49.3] | 50.0 % [43.0, 57.0] | 60.0 % | 0.30 | 120.0 [110.0, 132.0] |",
		"| uniform noise | – | 200 | – | 10.0 % [7.0, 15.0] | – | 30.0 % | 0.10 | 900.0 |",
		"top-3, confidence and FD are E1's.",
		"| model | worst-case top-1 [95 % CI] | attack | evaluator |",
		"| DC | 50.0 % [43.0, 57.0] | Attack 2 (SNN gradient) | E2 |",
		"| attack | models | evaluator | difference [95 % CI] |",
		"| Attack 2 (SNN gradient) | DC + CET + OD − DC | E1 | −3.5 pp [−10.1, +3.0] |",
	} {
		if !strings.Contains(md, brackets.Replace(s)) {
			t.Errorf("Table 4 lacks %q:\n%s", s, md)
		}
	}
	// Without named evaluators, the further ones are named by the rows.
	d.LeakageEvaluators = nil
	if err := Write(dir, d); err != nil {
		t.Fatal(err)
	}
	if md := read(t, filepath.Join(dir, MarkdownFile)); !strings.Contains(md, brackets.Replace("| top-1, evaluator [95 % CI] | top-1, E2 [95 % CI] |")) {
		t.Errorf("header without named evaluators:\n%s", section4(md))
	}
}

// brackets escapes square brackets as report.md's text does.
var brackets = strings.NewReplacer("[", `\[`, "]", `\]`)

// section4 returns Table 4's section of a report.md.
func section4(md string) string {
	i := strings.Index(md, "## Table 4")
	if i < 0 {
		return "(no Table 4)"
	}
	rest := md[i:]
	if j := strings.Index(rest[2:], "\n## "); j >= 0 {
		rest = rest[:j+2]
	}
	return rest
}
