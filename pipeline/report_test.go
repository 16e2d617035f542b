package pipeline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/energy"
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
