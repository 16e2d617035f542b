package stage_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/nir"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/synth"
)

// tinySNN converts a tiny ANN (with the default recipe's initial membrane
// θ/2, reset by subtraction and direct input) and loads it.
func tinySNN(t *testing.T, dir string) *stage.Model {
	t.Helper()
	ctx := context.Background()
	ann := tinyANN(t, filepath.Join(dir, "ann"), 1)
	ss := synth.DefaultSettings()
	ss.PerClass, ss.Iterations, ss.Batch = 4, 3, 4
	if _, err := stage.Synth(ctx, stage.SynthJob{Out: filepath.Join(dir, "synth"), ANN: ann, Settings: ss}, nil); err != nil {
		t.Fatal(err)
	}
	syn, err := stage.LoadSynthetic(filepath.Join(dir, "synth"))
	if err != nil {
		t.Fatal(err)
	}
	cs := convert.DefaultSettings(convert.RecipeSelect)
	half, direct := 0.5, snn.Direct
	cs.Timesteps, cs.CalibImages, cs.HeldOut, cs.InitMembrane, cs.Encoder = 4, 6, 6, &half, &direct
	if _, err := stage.Convert(ctx, stage.ConvertJob{Out: filepath.Join(dir, "snn"), ANN: ann, Synth: syn, Settings: cs}, nil); err != nil {
		t.Fatal(err)
	}
	sn, err := stage.LoadModel(filepath.Join(dir, "snn"), stage.RoleModel, modelfile.KindSNN)
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

// Export, import and export again give the same bytes; the imported model
// keeps the card (marked as read from the file) and simulates identically.
func TestNIRRoundTrip(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	sn := tinySNN(t, dir)
	for _, pool := range []nir.Pooling{nir.AvgPool, nir.SumPool} {
		first := filepath.Join(dir, "first-"+pool.String()+".nir")
		res, err := stage.Export(ctx, stage.ExportJob{Model: sn, Out: first, Pooling: pool}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Nodes != 10 || res.Semantics == "" {
			t.Errorf("export: %+v", res)
		}
		back := filepath.Join(dir, "back-"+pool.String())
		im, err := stage.ImportNIR(ctx, stage.ImportNIRJob{File: first, Out: back}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !im.FromCard || im.Pooling != pool || im.SNN == nil || !slices.Equal(im.SNN.Thresholds, sn.Card.SNN.Thresholds) {
			t.Fatalf("import: %+v", im)
		}
		m, err := stage.LoadModel(back, stage.RoleModel, modelfile.KindSNN)
		if err != nil {
			t.Fatal(err)
		}
		if m.Card.Provenance.ImportedNIR != first || m.Card.WeightsSHA256 != sn.Card.WeightsSHA256 {
			t.Errorf("imported card: provenance %+v, weights %s (want %s)", m.Card.Provenance, m.Card.WeightsSHA256, sn.Card.WeightsSHA256)
		}
		second := filepath.Join(dir, "second-"+pool.String()+".nir")
		if _, err := stage.Export(ctx, stage.ExportJob{Model: m, Out: second, Pooling: pool}, nil); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(first)
		b, _ := os.ReadFile(second)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Fatalf("pooling %v: export → import → export changed the file (%d → %d bytes)", pool, len(a), len(b))
		}
		test := randomSet(24, 5)
		r1, err := stage.Eval(ctx, stage.EvalJob{Model: sn, Data: test}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := stage.Eval(ctx, stage.EvalJob{Model: m, Data: test}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r1.Accuracy != r2.Accuracy || !slices.EqualFunc(r1.SpikeRates, r2.SpikeRates, func(x, y stage.LayerRate) bool { return x.Spikes == y.Spikes }) {
			t.Errorf("eval differs after the round trip: %v %v vs %v %v", r1.Accuracy, r1.SpikeRates, r2.Accuracy, r2.SpikeRates)
		}
	}
}

// An export never replaces a file that is not an earlier export: here the
// model's own weights.
func TestExportKeepsOtherFiles(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	sn := tinySNN(t, dir)
	weights := filepath.Join(sn.Path, modelfile.WeightsFile)
	before, _ := os.ReadFile(weights)
	if _, err := stage.Export(ctx, stage.ExportJob{Model: sn, Out: weights}, nil); err == nil {
		t.Fatal("export over the model's weights accepted")
	}
	if after, _ := os.ReadFile(weights); !bytes.Equal(before, after) {
		t.Fatal("the model's weights changed")
	}
	if _, err := stage.Export(ctx, stage.ExportJob{Model: sn, Out: sn.Path}, nil); err == nil {
		t.Fatal("export over a directory accepted")
	}
}

// Eval under a NIR reader's semantics (reset zero, initial membrane 0)
// simulates another network than the model's own.
func TestEvalSemantics(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	sn := tinySNN(t, dir)
	test := randomSet(24, 6)
	own, err := stage.Eval(ctx, stage.EvalJob{Model: sn, Data: test}, nil)
	if err != nil {
		t.Fatal(err)
	}
	zero, reset := 0.0, snn.ResetZero
	nirRun, err := stage.Eval(ctx, stage.EvalJob{Model: sn, Data: test, Settings: stage.EvalSettings{Reset: &reset, InitMembrane: &zero}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if own.SpikeRates[0].Spikes == nirRun.SpikeRates[0].Spikes {
		t.Errorf("the first layer spiked %d times under both semantics", own.SpikeRates[0].Spikes)
	}
	bad := 2.0
	if _, err := stage.Eval(ctx, stage.EvalJob{Model: sn, Data: test, Settings: stage.EvalSettings{InitMembrane: &bad}}, nil); err == nil {
		t.Error("initial membrane 2 accepted")
	}
}
