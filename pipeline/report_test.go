package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/energy"
	"github.com/privatesnn/privatesnn/leakage"
	"github.com/privatesnn/privatesnn/report"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/stage"
)

// executed returns a finished stage whose recorded result is v.
func executed(t *testing.T, name string, v any) Executed {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return Executed{Planned: Planned{Name: name, Dir: filepath.Join("runs", name)}, Result: b}
}

// reportOf writes the report of the executed stages and returns report.md.
func reportOf(t *testing.T, done ...Executed) string {
	t.Helper()
	dir := t.TempDir()
	if err := WriteReport(dir, Defaults(), "", "privatesnn run x.toml", time.Now(), done); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, report.MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReportLayers: every row of the per-layer table is one layer's: the
// spike rate that reaches it (the rate its energy counts), its own spike
// rate and its energy; the output layer, which does not spike, has a row
// of its own.
func TestReportLayers(t *testing.T) {
	names := []string{"features.0.weight", "features.3.weight", "classifier.0.weight", "classifier.3.weight"}
	ev := EvalResult{Models: []Evaluated{{Name: "DC", Stage: "convert", Role: RoleDC, Kind: "snn", Timesteps: 8, Accuracy: 0.8,
		Layers: names[:3], SpikeRates: []float64{0.11, 0.22, 0.33}}}}
	rep := energy.Report{Timesteps: 8}
	for i, n := range names {
		in := []float64{0.5, 0.11, 0.22, 0.33}[i] // the rate of the layer before
		rep.Layers = append(rep.Layers, energy.Layer{Name: n, MACs: 1000, InputRate: in, ANNpJ: float64(i+1) * 1e6, SNNWinPJ: float64(i+1) * 1e5})
	}
	md := reportOf(t, executed(t, "eval", ev), executed(t, "energy", EnergyResult{Models: []EnergyModel{{Name: "DC", Role: RoleDC, Report: rep}}}))
	for _, want := range []string{
		"| model | layer | input spike rate | spike rate | ANN energy (µJ) | SNN energy (µJ) |",
		"| DC | features.0.weight | 50.00 % | 11.00 % | 1.000 | 0.100 |",
		"| DC | features.3.weight | 11.00 % | 22.00 % | 2.000 | 0.200 |",
		"| DC | classifier.0.weight | 22.00 % | 33.00 % | 3.000 | 0.300 |",
		"| DC | classifier.3.weight | 33.00 % | – (output) | 4.000 | 0.400 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, section(md, "## Spike rates"))
		}
	}
}

// TestReportConversion: the report shows the settings the conversion used,
// the thresholds it set and, for a data-free selection, every candidate
// with the one chosen.
func TestReportConversion(t *testing.T) {
	cv := stage.ConvertResult{Recipe: convert.RecipeSelect, Thresholds: []float32{1.5, 0.25}, Layers: []string{"features.0.weight", "classifier.0.weight"},
		Timesteps: 8, Percentile: 99.9, InitMembrane: 0.5, Encoder: snn.Direct, CalibrationImages: 40,
		Selection: &convert.Selection{Timesteps: 8, HalfTimesteps: 4, HeldOutImages: 20, Rule: "highest agreement", Chosen: 1,
			Candidates: []convert.CandidateScore{
				{Candidate: convert.Candidate{Encoder: snn.Poisson}, Agreement: 0.5, AgreementHalf: 0.25},
				{Candidate: convert.Candidate{Percentile: 99.9, InitMembrane: 0.5, Encoder: snn.Direct}, Agreement: 0.9, AgreementHalf: 0.8},
				{Candidate: convert.Candidate{Percentile: 99, Encoder: snn.Direct}, Error: "layer 2 receives no positive input current"},
			}}}
	md := section(reportOf(t, executed(t, "convert", cv)), "## Data-free conversion")
	for _, want := range []string{
		"Recipe select at T = 8: percentile 99.9, initial membrane 0.5·θ, direct input (chosen without data among 3 candidates); thresholds balanced on 40 synthetic images.",
		"| features.0.weight | 1.5 |",
		"| classifier.0.weight | 0.25 |",
		"| max current, initial membrane 0·θ, poisson input | 50.0 % | 25.0 % |  |",
		"| percentile 99.9, initial membrane 0.5·θ, direct input | 90.0 % | 80.0 % | ← chosen |",
		"| percentile 99, initial membrane 0·θ, direct input | not scored: layer 2 receives no positive input current | – |  |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}

// section returns the part of a Markdown text from the heading that
// starts with title to the next heading of its level.
func section(md, title string) string {
	i := strings.Index(md, title)
	if i < 0 {
		return "(no section " + title + ")"
	}
	rest := md[i+len(title):]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return title + rest
}

// TestReportPairedIntervals: Table 2 gives each network's difference
// from the ANN and Table 3 each encrypted network's difference from DC,
// with the paired interval of the hits the evaluations recorded; without
// hits (an evaluation cached before they were recorded) there is none.
func TestReportPairedIntervals(t *testing.T) {
	// 20 images: DC right on 0–9; CET + OD on 0–7 and 10–13 (2 lost, 4
	// gained, +10 pp); CET without hits.
	const n = 20
	dc, cetod := make([]bool, n), make([]bool, n)
	for i := range 10 {
		dc[i] = true
	}
	for _, i := range []int{0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13} {
		cetod[i] = true
	}
	ann := make([]bool, n)
	for i := range 12 {
		ann[i] = true
	}
	ev := EvalResult{Images: n, Models: []Evaluated{
		{Name: "ANN", Role: RoleANN, Kind: "ann", Accuracy: 0.6, Hits: packHits(ann)},
		{Name: "DC", Role: RoleDC, Kind: "snn", Timesteps: 8, Accuracy: 0.5, Hits: packHits(dc)},
		{Name: "DC + CET + OD", Role: RoleCETOD, Kind: "snn", Timesteps: 8, Accuracy: 0.6, Hits: packHits(cetod)},
		{Name: "DC + CET", Role: RoleCET, Kind: "snn", Timesteps: 8, Accuracy: 0.45},
	}}
	all := reportOf(t, executed(t, "eval", ev))
	md := section(all, "## Table 3")
	// Table 2: against the ANN, DC loses images 10 and 11 and gains none.
	_, dcCI, err := leakage.PairedDifference(dc, ann, leakage.Z95)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, section(all, "## Table 2"),
		"| model | kind | T | test accuracy | Δ vs ANN \\[95 % CI\\] | note |",
		"| ANN | ANN | – | 60.0 % | – |  |",
		fmt.Sprintf("| DC | SNN | 8 | 50.0 %% | −10.0 pp \\[%s, %s\\] |  |", signedPct(dcCI.Lo), signedPct(dcCI.Hi)),
		"| DC + CET | SNN | 8 | 45.0 % | – |  |")
	// Newcombe's interval for e = 8, f = 4, g = 2, h = 6 of 20 (the
	// leakage package's tests check the formula against published values).
	_, ci, err := leakage.PairedDifference(cetod, dc, leakage.Z95)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, md,
		"| model | T | test accuracy | Δ vs DC \\[95 % CI\\] |",
		"| DC | 8 | 50.0 % | 0.0 pp |",
		fmt.Sprintf("| DC + CET + OD | 8 | 60.0 %% | +10.0 pp \\[%s, %s\\] |", signedPct(ci.Lo), signedPct(ci.Hi)),
		"| DC + CET | 8 | 45.0 % | −5.0 pp |",
		"Newcombe's paired 95 % interval")
	if ci.Lo >= 0.1 || ci.Hi <= 0.1 || ci.Lo > 0 {
		t.Errorf("interval %+v: want one around +10 pp reaching below 0 (6 discordant images of 20)", ci)
	}

	ev.Models[1].Hits = packHits(cetod[:8])
	if err := WriteReport(t.TempDir(), Defaults(), "", "x", time.Now(), []Executed{executed(t, "eval", ev)}); err == nil {
		t.Error("hits of 8 images for a 20-image split accepted")
	}
}

// wantLines reports each of wants that the Markdown text md lacks.
func wantLines(t *testing.T, md string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}

// signedPct prints a difference of rates in percentage points as Table 3
// does: one decimal, a sign, "−" for minus.
func signedPct(v float64) string {
	s := fmt.Sprintf("%+.1f", 100*v)
	if s == "+0.0" || s == "-0.0" {
		return "0.0"
	}
	return strings.Replace(s, "-", "−", 1)
}

// Hits survive their coding for every length up to two bytes past a whole
// byte, and a coding of the wrong length or alphabet is an error.
func TestHitsRoundTrip(t *testing.T) {
	for n := range 18 {
		h := make([]bool, n)
		for i := range h {
			h[i] = (i*7)%3 == 0
		}
		got, err := unpackHits(packHits(h), n)
		if err != nil || !slices.Equal(got, h) {
			t.Fatalf("n = %d: %v, %v", n, got, err)
		}
	}
	if _, err := unpackHits(packHits(make([]bool, 9)), 17); err == nil {
		t.Error("2 bytes accepted for 17 images")
	}
	if _, err := unpackHits("not base64!", 8); err == nil {
		t.Error("a coding outside base64 accepted")
	}
}

// FuzzUnpackHits: any string and count either decode to count hits that
// code back to the same string, or give an error; nothing panics.
func FuzzUnpackHits(f *testing.F) {
	f.Add(packHits([]bool{true, false, true}), 3)
	f.Add("", 0)
	f.Add("//8=", 16)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n > 1<<20 {
			return
		}
		h, err := unpackHits(s, n)
		if err != nil {
			return
		}
		if len(h) != n {
			t.Fatalf("%d hits for %d images", len(h), n)
		}
		if n%8 == 0 && packHits(h) != s {
			t.Fatalf("%q decodes to hits that code as %q", s, packHits(h))
		}
	})
}

// Every eval-* stage hashes what its result records, so that an evaluation
// cached before it recorded its hits runs again for the report's intervals.
func TestEvalStagesRecordHits(t *testing.T) {
	c := Defaults()
	c.Name, c.Workdir = "t", t.TempDir()
	n := 0
	for _, s := range Build(c).Stages {
		if !strings.HasPrefix(s.Name, "eval-") {
			continue
		}
		n++
		if got := s.Settings.(map[string]any)["records"]; got != "hits" {
			t.Errorf("%s: records %v, want hits", s.Name, got)
		}
	}
	if n == 0 {
		t.Fatal("no eval-* stage")
	}
}
