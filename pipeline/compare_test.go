package pipeline

import (
	"slices"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/qcfs"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/stage"
)

// TestCompareConfig: compare entries parse over the convert command's
// defaults (not the run's convert section), and unknown keys, names that
// clash, reserved names, settings convert refuses and too many entries are
// refused.
func TestCompareConfig(t *testing.T) {
	c, err := Parse([]byte(`
name = "t"
[convert]
timesteps = 8
score_images = "raw"
[[compare]]
name = "DC, T = 4, ANN clips"
timesteps = 4
thresholds = "all"
correct = "auto"
signed = true
burst = 2
[[compare]]
name = "paper, T = 16"
recipe = "paper"
timesteps = 16
`), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Compare) != 2 {
		t.Fatalf("%d compare entries", len(c.Compare))
	}
	def := convert.DefaultSettings(convert.RecipeSelect)
	a, b := c.Compare[0], c.Compare[1]
	if a.Name != "DC, T = 4, ANN clips" || a.Recipe != convert.RecipeSelect || a.Timesteps != 4 || a.Source != convert.SourceAll ||
		a.Correct != convert.CorrectAuto || a.Score != def.Score || a.Leak != def.Leak || a.Batch != def.Batch || a.CropPad != def.CropPad ||
		!a.Signed || !a.Options().Config([]float32{1}).Signed || a.Options().Config([]float32{1}).Burst != 2 {
		t.Errorf("first entry %+v, want the convert defaults with T = 4, thresholds all, correct auto, signed neurons, bursts of 2", a)
	}
	if b.Recipe != convert.RecipePaper || b.Timesteps != 16 || b.Score != def.Score || b.Signed || b.Burst != 0 {
		t.Errorf("second entry %+v", b)
	}
	if c.Convert.Score != convert.ScoreRaw {
		t.Errorf("convert section's score %q", c.Convert.Score)
	}
	for _, bad := range []struct{ text, want string }{
		{"[[compare]]\nname = \"x\"\ntimestep = 4\n", `compare (top level) = [{ name = "x", timestep = 4 }]: unknown field "timestep"`},
		{"compare = \"x\"\n", "want an array of tables of keys"},
		{"[[compare]]\nname = \"x\"\n[[compare]]\nname = \"X!\"\n", `name "X!" gives the same stage name as "x" (compare-x)`},
		{"[[compare]]\nname = \"--\"\n", "want a name with at least one letter or digit"},
		{"[[compare]]\nname = \"DC\"\n", `name "DC" is one of the run's own models`},
		{"[[compare]]\nname = \"p\"\nrecipe = \"paper\"\nthresholds = \"all\"\n", "compare 1 (p): recipe paper fixes its settings"},
		{"[[compare]]\nname = \"s\"\nsigned = true\nreset = \"zero\"\n", "signed neurons need reset subtract"},
		{"[[compare]]\nname = \"b\"\nburst = 2\nreset = \"zero\"\n", "burst spikes need reset subtract"},
		{strings.Repeat("[[compare]]\nname = \"n\"\n", 1), ""},
	} {
		_, err := Parse([]byte("name = \"t\"\n"+bad.text), true)
		switch {
		case bad.want == "" && err != nil:
			t.Errorf("%q: %v", bad.text, err)
		case bad.want != "" && (err == nil || !strings.Contains(err.Error(), bad.want)):
			t.Errorf("%q: error %v, want %q", bad.text, err, bad.want)
		}
	}
	var many strings.Builder
	many.WriteString("name = \"t\"\n")
	for i := range MaxCompare + 1 {
		many.WriteString("[[compare]]\nname = \"c" + string(rune('a'+i)) + "\"\n")
	}
	if _, err := Parse([]byte(many.String()), true); err == nil || !strings.Contains(err.Error(), "want at most 16") {
		t.Errorf("%d entries: %v", MaxCompare+1, err)
	}
}

// TestCompareGraph: each entry converts the ANN on the synthetic set with
// its own settings and the convert section's seed; eval evaluates it and
// energy measures it; the audit, the encryptions and every other stage
// keep their hashes.
func TestCompareGraph(t *testing.T) {
	c := Defaults()
	c.Name, c.Workdir, c.Seed = "t", t.TempDir(), 3
	without := planOf(t, c)
	low := convert.DefaultSettings(convert.RecipeSelect)
	low.Timesteps, low.Source, low.Correct = 4, convert.SourceAll, convert.CorrectAuto
	c.Compare = []CompareConfig{{Name: "DC, T = 4", Settings: low}, {Name: "paper", Settings: convert.DefaultSettings(convert.RecipePaper)}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	g := Build(c)
	for i, name := range []string{"compare-dc-t-4", "compare-paper"} {
		s := stageOf(t, g, name)
		cv, ok := s.Settings.(ConvertConfig)
		if !ok || !equalJSON(t, cv.Settings, c.Compare[i].Settings) || cv.Seed != 3 || !slices.Equal(s.Deps, []string{"ann", "synth"}) || s.RealData {
			t.Errorf("%s: settings %+v, deps %v, real data %v", name, s.Settings, s.Deps, s.RealData)
		}
		if !slices.Contains(stageOf(t, g, "eval").Deps, "eval-"+name) || !slices.Contains(stageOf(t, g, "energy").Deps, name) {
			t.Errorf("%s is not evaluated or measured", name)
		}
		if slices.Contains(stageOf(t, g, "audit").Deps, name) {
			t.Errorf("the audit reads %s", name)
		}
	}
	with := planOf(t, c)
	for name, h := range without {
		if (with[name] != h) != (name == "eval" || name == "energy") {
			t.Errorf("compare changes %s's hash: %v", name, with[name] != h)
		}
	}
}

// TestReportCompare: a compared conversion has a row in Table 2, a curve
// in Fig. 5a's data, no row in the ablation, and a row in the
// conversions-compared table naming the chosen candidate and what the
// correction did.
func TestReportCompare(t *testing.T) {
	c := Defaults()
	c.Compare = []CompareConfig{{Name: "DC, T = 4", Settings: convert.DefaultSettings(convert.RecipeSelect)}}
	ev := EvalResult{Models: []Evaluated{
		{Name: "DC", Stage: "convert", Role: RoleDC, Kind: "snn", Timesteps: 8, Accuracy: 0.9, Curve: []snn.TimestepAccuracy{{T: 4, Accuracy: 0.8}, {T: 8, Accuracy: 0.9}}},
		{Name: "DC, T = 4", Stage: "compare-dc-t-4", Role: RoleCompare, Kind: "snn", Timesteps: 4, Accuracy: 0.88,
			Curve: []snn.TimestepAccuracy{{T: 2, Accuracy: 0.7}, {T: 4, Accuracy: 0.88}}},
	}}
	cv := stage.ConvertResult{Recipe: convert.RecipeSelect, Timesteps: 4, Percentile: 98, InitMembrane: 0.5, Encoder: snn.Direct,
		Selection: &convert.Selection{Chosen: 1, Candidates: []convert.CandidateScore{
			{Candidate: convert.Candidate{Percentile: 99, Encoder: snn.Direct}},
			{Candidate: convert.Candidate{Percentile: 98, InitMembrane: 0.5, Encoder: snn.Direct, Activations: true}}}},
		Correction: &convert.Correction{Mode: convert.CorrectAuto, AgreementBefore: 0.9, AgreementAfter: 0.925, Kept: true}}
	md := reportOfConfig(t, c, executed(t, "eval", ev), executed(t, "compare-dc-t-4", cv))
	if !strings.Contains(section(md, "## Table 2"), "| DC, T = 4 | SNN | 4 | 88.0 % |") {
		t.Errorf("Table 2 lacks the compared conversion:\n%s", section(md, "## Table 2"))
	}
	if strings.Contains(section(md, "## Table 3"), "DC, T = 4") {
		t.Errorf("the ablation lists the compared conversion:\n%s", section(md, "## Table 3"))
	}
	want := "| DC, T = 4 | select | 4 | " + cv.Selection.Candidates[1].Candidate.String() + " | auto, kept (held-out agreement 90.0 → 92.5 %) |"
	if got := section(md, "## Conversions compared"); !strings.Contains(got, want) {
		t.Errorf("conversions compared lacks %q:\n%s", want, got)
	}
	fig := section(md, "## Figure 5a")
	for _, want := range []string{"| T | DC | DC, T = 4 |", "| 2 | – | 70.0 % |", "| 4 | 80.0 % | 88.0 % |", "| 8 | 90.0 % | – |"} {
		if !strings.Contains(fig, want) {
			t.Errorf("Fig. 5a lacks %q:\n%s", want, fig)
		}
	}
}

// TestReportConversionSource: the conversion section names the chosen
// candidate as the selection recorded it, threshold source included.
func TestReportConversionSource(t *testing.T) {
	ann := convert.Candidate{Percentile: 98, InitMembrane: 0.5, Encoder: snn.Direct, Activations: true}
	cv := stage.ConvertResult{Recipe: convert.RecipeSelect, Timesteps: 4, Percentile: 98, InitMembrane: 0.5, Encoder: snn.Direct,
		Selection: &convert.Selection{Chosen: 0, Candidates: []convert.CandidateScore{{Candidate: ann}}}}
	md := section(reportOf(t, executed(t, "convert", cv)), "## Data-free conversion")
	if want := "Recipe select at T = 4: " + ann.String() + " (chosen without data among 1 candidates)"; !strings.Contains(md, want) || !strings.Contains(ann.String(), "ANN") {
		t.Errorf("conversion section lacks %q:\n%s", want, md)
	}
}

// TestCompareQuantise: an entry with a [compare.quantise] table gets a
// fine-tuning stage of its own, over qcfs.Defaults, with the entry's T
// and the convert section's seed, and converts its QCFS ANN; its report
// row says what the fine-tuning did. timesteps inside the table, unknown
// keys and thresholds from clips without the table are refused.
func TestCompareQuantise(t *testing.T) {
	c, err := Parse([]byte(`
name = "t"
seed = 5
[[compare]]
name = "QCFS, T = 4"
timesteps = 4
[compare.quantise]
epochs = 1
[[compare]]
name = "QCFS own seed"
timesteps = 8
[compare.quantise]
levels = 4
seed = 11
`), true)
	if err != nil {
		t.Fatal(err)
	}
	g := Build(c)
	q := stageOf(t, g, "quantise-qcfs-t-4")
	o, ok := q.Settings.(qcfs.Options)
	def := qcfs.Defaults()
	if !ok || o.Epochs != 1 || o.Timesteps != 4 || o.Levels != 0 || o.Seed != 5 || o.Percentile != def.Percentile || o.LR != def.LR || q.RealData ||
		!slices.Equal(q.Deps, []string{"ann", "synth"}) {
		t.Errorf("quantise stage: %+v, deps %v", q.Settings, q.Deps)
	}
	cs := stageOf(t, g, "compare-qcfs-t-4")
	if !slices.Equal(cs.Deps, []string{"quantise-qcfs-t-4", "synth"}) {
		t.Errorf("the compared conversion reads %v, want the QCFS ANN", cs.Deps)
	}
	// The correction a QCFS ANN's conversion gets by default is written
	// into the settings, so that the stage's hash records it.
	if s := cs.Settings.(ConvertConfig).Settings; s.Correct != convert.CorrectOn {
		t.Errorf("the compared conversion's correction %q, want on", s.Correct)
	}
	if o2 := stageOf(t, g, "quantise-qcfs-own-seed").Settings.(qcfs.Options); o2.Seed != 11 || o2.Levels != 4 || o2.Timesteps != 8 {
		t.Errorf("second quantise stage: %+v", o2)
	}
	for _, bad := range []struct{ text, want string }{
		{"[[compare]]\nname = \"x\"\n[compare.quantise]\ntimesteps = 4\n", "timesteps is the compare entry's"},
		{"[[compare]]\nname = \"x\"\n[compare.quantise]\nepoch = 4\n", `unknown field "epoch"`},
		{"[[compare]]\nname = \"x\"\n[compare.quantise]\npercentile = 20\n", "percentile"},
		{"[[compare]]\nname = \"x\"\nthresholds = \"clips\"\n", "need a [compare.quantise] table"},
	} {
		if _, err := Parse([]byte("name = \"t\"\n"+bad.text), true); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.text, err, bad.want)
		}
	}

	cv := stage.ConvertResult{Recipe: convert.RecipeSelect, Timesteps: 4, InitMembrane: 0.5, Encoder: snn.Direct,
		Selection: &convert.Selection{Chosen: 0, Candidates: []convert.CandidateScore{{Candidate: convert.ClipsCandidate()}}}}
	qr := stage.QuantiseResult{Levels: 4, Images: 4000, Agreement: 0.9, Kept: 1, History: []qcfs.Epoch{{Epoch: 1, Agreement: 0.95}}}
	md := reportOfConfig(t, c, executed(t, "compare-qcfs-t-4", cv), executed(t, "quantise-qcfs-t-4", qr))
	want := "| QCFS, T = 4 | select | 4 | " + convert.ClipsCandidate().String() + " | – | L = 4, 1 epoch on 4000 images, epoch 1 kept (held-out agreement 90.0 → 95.0 %) |"
	if got := section(md, "## Conversions compared"); !strings.Contains(got, want) {
		t.Errorf("conversions compared lacks %q:\n%s", want, got)
	}
}

func TestQuantisedText(t *testing.T) {
	if got := quantised(&stage.QuantiseResult{Levels: 4, Agreement: 0.9}); got != "L = 4, clips only, no distillation (held-out agreement with the ANN 90.0 %)" {
		t.Errorf("clips only: %q", got)
	}
	q := &stage.QuantiseResult{Levels: 8, Images: 10, Agreement: 0.9, History: []qcfs.Epoch{{Epoch: 1, Agreement: 0.8}, {Epoch: 2, Agreement: 0.85}}}
	if got := quantised(q); got != "L = 8, 2 epochs on 10 images, the weights before kept (held-out agreement 90.0 → 90.0 %)" {
		t.Errorf("none kept: %q", got)
	}
}

// TestUsedSettingsSigned: the report's settings of a conversion name its
// signed neurons, and only then.
func TestUsedSettingsSigned(t *testing.T) {
	r := &stage.ConvertResult{Recipe: convert.RecipeSelect, Timesteps: 4, Percentile: 99, InitMembrane: 0.5, Encoder: snn.Direct}
	if got := usedSettings(r); strings.Contains(got, "signed") {
		t.Errorf("unsigned conversion: %q", got)
	}
	r.Signed = true
	if got := usedSettings(r); !strings.HasSuffix(got, ", signed neurons") {
		t.Errorf("signed conversion: %q", got)
	}
}
