package modelfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/snn"
)

// oldSNNCard is an SNN card as written before initial membranes, recipes
// and selections were recorded.
const oldSNNCard = `{
  "format": "privatesnn.model/v1",
  "kind": "snn",
  "model": {"name": "tiny", "features": [4, "A", 6], "hidden": [8], "classes": 3, "in_channels": 1, "in_height": 6, "in_width": 6, "conv_dropout": 0, "fc_dropout": 0.5},
  "normalization": {"mean": 0.5, "std": 0.5},
  "class_names": ["a", "b", "c"],
  "seed": 7,
  "provenance": {"training_data_accessed": false, "software": "test"},
  "snn": {"timesteps": 20, "leak": 1, "reset": "subtract", "encoder": "poisson", "thresholds": [1.5, 2.5, 3.5],
    "calibration": {"method": "max-current", "scale": 1, "images": 10, "source": "synthetic", "seed": 0}}
}`

func TestOldSNNCardDecodes(t *testing.T) {
	c, err := DecodeCard([]byte(oldSNNCard), "old.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.SNN.InitMembrane != 0 || c.SNN.Calibration.Recipe != "" || c.SNN.Calibration.Selection != nil {
		t.Fatalf("old card decoded with new settings: %+v", c.SNN)
	}
	// Re-encoding writes none of the new keys: old cards stay byte-identical.
	b, _ := json.Marshal(c)
	for _, key := range []string{"init_membrane", "recipe", "selection", "per_pass", "crop_pad", "flip", "pool", "staged"} {
		if strings.Contains(string(b), `"`+key+`"`) {
			t.Fatalf("re-encoded old card has %q: %s", key, b)
		}
	}
}

func selectedSpec() *SNNSpec {
	sel := &convert.Selection{Timesteps: 16, HalfTimesteps: 8, CalibrationImages: 512, HeldOutImages: 1024, Rule: "test", Chosen: 1,
		Candidates: []convert.CandidateScore{
			{Candidate: convert.Candidate{Encoder: snn.Poisson}, Thresholds: []float32{1, 2, 3}, Agreement: 0.5, AgreementHalf: 0.25},
			{Candidate: convert.Candidate{Percentile: 99.9, InitMembrane: 0.5, Encoder: snn.Direct}, Thresholds: []float32{0.5, 1.5, 2.5},
				Agreement: 0.875, AgreementHalf: 0.75},
		}}
	return &SNNSpec{Config: snn.Config{Timesteps: 16, Leak: 1, Encoder: snn.Direct, InitMembrane: 0.5, Thresholds: []float32{0.5, 1.5, 2.5}},
		Calibration: Calibration{Method: "percentile-current", Percentile: 99.9, Scale: 1, Images: 512, Pool: 5000, Source: "synthetic",
			Recipe: RecipeSelected, CropPad: 4, Flip: true, Staged: true, Selection: sel}}
}

func TestSelectedCardRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := tinyModel(t, 5)
	c := card()
	c.SNN = selectedSpec()
	if err := Save(dir, m, c); err != nil {
		t.Fatal(err)
	}
	net, back, err := loadSNN(dir)
	if err != nil {
		t.Fatal(err)
	}
	if net.Config.InitMembrane != 0.5 || net.Config.Encoder != snn.Direct {
		t.Fatalf("loaded network config %+v", net.Config)
	}
	sel := back.SNN.Calibration.Selection
	if sel == nil || sel.Chosen != 1 || len(sel.Candidates) != 2 || sel.Candidates[1].Agreement != 0.875 ||
		sel.Candidates[1].Candidate != c.SNN.Calibration.Selection.Candidates[1].Candidate || back.SNN.Calibration.Pool != 5000 {
		t.Fatalf("selection after round trip: %+v", sel)
	}
	b, _ := os.ReadFile(filepath.Join(dir, CardFile))
	for _, key := range []string{`"init_membrane": 0.5`, `"recipe": "selected"`, `"agreement_half": 0.75`, `"crop_pad": 4`, `"encoder": "direct"`} {
		if !strings.Contains(string(b), key) {
			t.Fatalf("card lacks %s:\n%s", key, b)
		}
	}
}

func TestCalibrationRecordValidation(t *testing.T) {
	m := tinyModel(t, 5)
	for name, breakIt := range map[string]func(s *SNNSpec){
		"unknown recipe":      func(s *SNNSpec) { s.Calibration.Recipe = "magic" },
		"selected, no record": func(s *SNNSpec) { s.Calibration.Selection = nil },
		"paper with record":   func(s *SNNSpec) { s.Calibration.Recipe = RecipePaper },
		"chosen out of range": func(s *SNNSpec) { s.Calibration.Selection.Chosen = 2 },
		"encoder mismatch":    func(s *SNNSpec) { s.Config.Encoder = snn.Poisson },
		"init mismatch":       func(s *SNNSpec) { s.Config.InitMembrane = 0 },
		"percentile mismatch": func(s *SNNSpec) { s.Calibration.Percentile = 99 },
		"T mismatch":          func(s *SNNSpec) { s.Config.Timesteps = 17 },
		"negative crop":       func(s *SNNSpec) { s.Calibration.CropPad = -1 },
		"init out of range":   func(s *SNNSpec) { s.Config.InitMembrane = 1.5 },
	} {
		c := card()
		c.SNN = selectedSpec()
		breakIt(c.SNN)
		if err := Save(t.TempDir(), m, c); err == nil {
			t.Errorf("%s: saved", name)
		}
		c.Format, c.Kind, c.Model = Format, "snn", m.Config
		b, _ := json.Marshal(c)
		if _, err := DecodeCard(b, "bad.json"); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}
