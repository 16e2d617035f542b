package stage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/nir"
	"github.com/privatesnn/privatesnn/qcfs"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/synth"
)

// Quantise writes a reproducible QCFS ANN with its record; convert takes
// its thresholds from the clips and writes a plain spiking network whose
// ANN is the QCFS one. Quantising a QCFS ANN and thresholds from clips of
// a ReLU ANN are refused.
func TestQuantiseConvert(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	ann := tinyANN(t, path("ann"), 1)
	ss := synth.DefaultSettings()
	ss.PerClass, ss.Iterations, ss.Batch = 12, 2, 12
	if _, err := stage.Synth(ctx, stage.SynthJob{Out: path("synth"), ANN: ann, Settings: ss}, nil); err != nil {
		t.Fatal(err)
	}
	syn, err := stage.LoadSynthetic(path("synth"))
	if err != nil {
		t.Fatal(err)
	}
	o := qcfs.Defaults()
	o.Levels, o.Epochs, o.BatchSize, o.HeldOut, o.LR, o.ClipLR = 4, 2, 6, 9, 1e-2, 1e-2
	var files [2][]byte
	for i := range files {
		out := path(fmt.Sprintf("q%d", i))
		r, err := stage.Quantise(ctx, stage.QuantiseJob{Out: out, ANN: ann, Synth: syn, Options: o}, nil)
		if err != nil || r.Levels != 4 || len(r.Clips) != 2 || len(r.History) != 2 || r.Images != 27 || r.HeldOut != 9 {
			t.Fatalf("quantise: %+v, %v", r, err)
		}
		card, err := os.ReadFile(filepath.Join(out, modelfile.CardFile))
		if err != nil {
			t.Fatal(err)
		}
		weights, err := os.ReadFile(filepath.Join(out, modelfile.WeightsFile))
		if err != nil {
			t.Fatal(err)
		}
		files[i] = append(card, weights...)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("two quantisations with the same seed wrote different files")
	}
	q, err := stage.LoadModel(path("q0"), stage.RoleModel, modelfile.KindANN)
	if err != nil {
		t.Fatal(err)
	}
	qr := q.Card.Quantisation
	if q.Net.Config.Levels != 4 || qr == nil || qr.Levels != 4 || !slices.Equal(qr.Clips, q.Net.Clips()) || q.Card.Provenance.TrainingDataAccessed {
		t.Fatalf("QCFS card: levels %d, record %+v, data accessed %v", q.Net.Config.Levels, qr, q.Card.Provenance.TrainingDataAccessed)
	}
	if p, err := q.AncestorANN(); err != nil || p != path("q0") {
		t.Errorf("a QCFS ANN is its own ANN: %q, %v", p, err)
	}
	// The set was made from the parent: it is accepted for the QCFS ANN.
	if err := syn.CheckMadeFrom(q); err != nil {
		t.Errorf("set of the parent ANN refused for the QCFS ANN: %v", err)
	}
	if _, err := stage.Quantise(ctx, stage.QuantiseJob{Out: path("qq"), ANN: q, Synth: syn, Options: o}, nil); err == nil {
		t.Error("quantising a QCFS ANN again succeeded")
	}

	// NIR has no quantised activation: the clips would be lost.
	if _, err := stage.Export(ctx, stage.ExportJob{Model: q, Out: path("q.nir")}, nil); err == nil {
		t.Error("a QCFS ANN exported to NIR")
	}

	cs := convert.DefaultSettings(convert.RecipeSelect)
	cs.Timesteps, cs.CalibImages, cs.HeldOut = 4, 8, 8
	cv, err := stage.Convert(ctx, stage.ConvertJob{Out: path("snn"), ANN: q, Synth: syn, Settings: cs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := convert.ClipThresholds(q.Net)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cv.Thresholds, want) || cv.InitMembrane != 0.5 || len(cv.Selection.Candidates) != 1 || !cv.Selection.Candidates[0].Clips {
		t.Errorf("conversion of a QCFS ANN: thresholds %v (want %v), initial membrane %g, selection %+v", cv.Thresholds, want, cv.InitMembrane, cv.Selection)
	}
	if k := cv.Correction; k == nil || k.Mode != convert.CorrectOn || !k.Kept {
		t.Errorf("conversion of a QCFS ANN with the default correction: %+v, want it on", k)
	}
	sn, err := stage.LoadModel(path("snn"), stage.RoleModel, modelfile.KindSNN)
	if err != nil {
		t.Fatal(err)
	}
	if sn.Net.Config.Levels != 0 || sn.Card.Quantisation != nil || sn.Card.SNN.Calibration.Method != modelfile.QCFSClips {
		t.Errorf("SNN card: levels %d, quantisation %+v, method %q", sn.Net.Config.Levels, sn.Card.Quantisation, sn.Card.SNN.Calibration.Method)
	}
	if p, err := sn.AncestorANN(); err != nil || p != path("q0") {
		t.Errorf("the SNN's ANN is %q (%v), want the QCFS ANN", p, err)
	}
	// The correction's per-channel membranes travel in NIR's metadata,
	// and the export says so.
	if sem := stage.NIRSemantics(&sn.Card.SNN.Config); !strings.Contains(sem, "per channel") {
		t.Errorf("NIR semantics %q do not mention the per-channel membranes", sem)
	}
	if _, err := stage.Export(ctx, stage.ExportJob{Model: sn, Out: path("snn.nir")}, nil); err != nil {
		t.Errorf("export of the SNN converted from a QCFS ANN: %v", err)
	}
	g, err := nir.Read(path("snn.nir"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := nir.Import(g, nir.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := sn.Card.SNN.Config.ChannelInit; len(want) == 0 || fmt.Sprint(im.SNN.ChannelInit) != fmt.Sprint(want) {
		t.Errorf("initial membranes after NIR: %v, want %v", im.SNN.ChannelInit, want)
	}

	cs.Source = convert.SourceClips
	_, err = stage.Convert(ctx, stage.ConvertJob{Out: path("snn2"), ANN: ann, Synth: syn, Settings: cs}, nil)
	var se *setting.Error
	if !errors.As(err, &se) || se.Key != "thresholds" {
		t.Errorf("thresholds from clips of a ReLU ANN: %v", err)
	}
}
