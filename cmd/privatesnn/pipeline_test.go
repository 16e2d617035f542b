package main

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/stage"
)

func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, context.Background(), append(args, "--json", "--quiet")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), v); err != nil {
		t.Fatalf("%v: output is not JSON: %v\n%s", args, err, stdout)
	}
}

// TestPipeline runs train → synth → convert → eval → energy →
// calibrate-compare on a tiny network and the embedded data.
func TestPipeline(t *testing.T) {
	dir := t.TempDir()
	ann, syn, snnDir := filepath.Join(dir, "ann"), filepath.Join(dir, "synth"), filepath.Join(dir, "snn")
	var tr stage.TrainResult
	runJSON(t, &tr, "train", "--data", "embedded", "--limit", "1024", "--epochs", "2", "--features", "8,A,16,A",
		"--hidden", "32", "--out", ann)
	runJSON(t, &map[string]any{}, "synth", "--model", ann, "--per-class", "4", "--iterations", "30", "--out", syn)
	var cv stage.ConvertResult
	runJSON(t, &cv, "convert", "--model", ann, "--synth", syn, "--timesteps", "16", "--calib-images", "24", "--held-out", "16", "--out", snnDir)
	if len(cv.Thresholds) != 3 || cv.TrainingDataAccessed || cv.CalibrationImages != 24 || cv.Selection == nil || len(cv.Selection.Candidates) != 20 {
		t.Fatalf("convert result %+v", cv)
	}
	card, err := modelfile.ReadCard(snnDir)
	if err != nil {
		t.Fatal(err)
	}
	if card.Kind != "snn" || card.Provenance.TrainingDataAccessed || card.SNN.Timesteps != 16 || card.Provenance.Parent == nil || card.Provenance.Parent.Path != "../ann" {
		t.Fatalf("SNN card %+v", card)
	}
	var ev stage.EvalResult
	runJSON(t, &ev, "eval", "--model", snnDir, "--data", "embedded", "--limit", "200", "--readouts", "4,8")
	if ev.Kind != "snn" || len(ev.AccuracyByTimestep) != 3 || len(ev.SpikeRates) != 3 || ev.ANNAccuracy == nil {
		t.Fatalf("eval result %+v", ev)
	}
	if last := ev.AccuracyByTimestep[2]; last.T != 16 || ev.Accuracy != last.Accuracy || ev.Accuracy < 0.3 {
		t.Fatalf("SNN accuracy %g (by T %v): the converted tiny net should beat chance clearly", ev.Accuracy, ev.AccuracyByTimestep)
	}
	for _, r := range ev.SpikeRates {
		if r.Rate <= 0 || r.Rate >= 1 {
			t.Fatalf("spike rate %+v", r)
		}
	}
	var en stage.EnergyResult
	runJSON(t, &en, "energy", "--model", snnDir, "--data", "embedded", "--limit", "100")
	if len(en.Reports) != 2 || en.Reports[0].RatioStep <= 0 || en.Reports[0].RatioWin <= 0 ||
		math.Abs(en.Reports[0].RatioStep-en.Reports[0].RatioWin*16) > 1e-9*en.Reports[0].RatioStep {
		t.Fatalf("energy %+v", en.Reports)
	}
	var cc stage.CompareResult
	runJSON(t, &cc, "calibrate-compare", "--model", ann, "--synth", syn, "--data", "embedded", "--limit", "300",
		"--timesteps", "16", "--calib-images", "32")
	if len(cc.Real.Thresholds) != 3 || len(cc.Synthetic.Thresholds) != 3 || cc.TestImages != 300 {
		t.Fatalf("calibrate-compare %+v", cc)
	}
}
