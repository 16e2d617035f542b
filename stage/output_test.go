package stage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/internal/outdir"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/synth"
)

// The record files package outdir knows the kinds by are the ones the
// writers write.
func TestRecordNames(t *testing.T) {
	for k, want := range map[outdir.Kind]string{outdir.Model: modelfile.CardFile, outdir.Run: modelfile.CheckpointState,
		outdir.Synthetic: synth.ManifestFile, outdir.Attack: stage.AttackFile, outdir.Audit: audit.ReportFile} {
		if k.Record() != want {
			t.Errorf("%s: record %s, want %s", k, k.Record(), want)
		}
	}
}

// The stages refuse, before any work, an Out that is an input found
// through a card, one holding another kind of artifact, and an audit in
// which no method applies; an attack written again removes its earlier
// images.
func TestOutputChecks(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	ann := tinyANN(t, path("ann"), 1)
	ss := synth.DefaultSettings()
	ss.PerClass, ss.Iterations, ss.Batch = 3, 2, 3
	if _, err := stage.Synth(ctx, stage.SynthJob{Out: path("synth"), ANN: ann, Settings: ss}, nil); err != nil {
		t.Fatal(err)
	}
	syn, err := stage.LoadSynthetic(path("synth"))
	if err != nil {
		t.Fatal(err)
	}
	cs := convert.DefaultSettings(convert.RecipePaper)
	cs.Timesteps, cs.CalibImages = 3, 6
	if _, err := stage.Convert(ctx, stage.ConvertJob{Out: path("snn"), ANN: ann, Synth: syn, Settings: cs}, nil); err != nil {
		t.Fatal(err)
	}
	sn, err := stage.LoadModel(path("snn"), stage.RoleModel, modelfile.KindSNN)
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := modelfile.WeightsDigest(ann.Path)
	es := stage.DefaultEncryptSettings()
	es.Epochs, es.PerClass, es.BatchSize = 1, 2, 2
	var out *stage.OutError
	_, err = stage.Encrypt(ctx, stage.EncryptJob{Out: ann.Path, SNN: sn, Synth: syn, Settings: es}, nil)
	if !errors.As(err, &out) || out.Input != ann.Path || !strings.Contains(out.Via, "card of "+sn.Path) {
		t.Errorf("encrypt into the teacher found through the card: %v", err)
	}
	if d, _ := modelfile.WeightsDigest(ann.Path); d != digest {
		t.Error("the ANN's weights changed")
	}
	var dirErr *stage.DirError
	if _, err := stage.Synth(ctx, stage.SynthJob{Out: sn.Path, Overwrite: true, ANN: ann, Settings: ss}, nil); !errors.As(err, &dirErr) ||
		!strings.Contains(err.Error(), "holds a model, not a synthetic image set") {
		t.Errorf("synth into a model: %v", err)
	}
	if _, err := stage.Synth(ctx, stage.SynthJob{Out: path("other"), ANN: ann, Settings: ss}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := stage.Convert(ctx, stage.ConvertJob{Out: path("other"), ANN: ann, Synth: syn, Settings: cs}, nil); !errors.As(err, &dirErr) ||
		!strings.Contains(err.Error(), "holds a synthetic image set, not a model") {
		t.Errorf("convert into a synthetic set: %v", err)
	}
	as := audit.DefaultSettings()
	as.PerClass, as.Attack1.Iterations = 2, 2
	job := stage.AttackJob{Model: sn, Method: audit.Attack{Method: attack.Visualize}, Settings: as, Out: path("attack")}
	if _, err := stage.Attack(ctx, job, nil); err != nil {
		t.Fatal(err)
	}
	job.Settings.PerClass = 1
	if _, err := stage.Attack(ctx, job, nil); err != nil {
		t.Fatal(err)
	}
	if imgs, err := os.ReadDir(filepath.Join(path("attack"), audit.ImagesDir)); err != nil || len(imgs) != 3 {
		t.Errorf("images after a second attack with 1 per class: %d, %v", len(imgs), err)
	}
	as.Methods = audit.Of(attack.SNNGradient, attack.SNNInversion)
	var in *stage.InputError
	_, err = stage.Audit(ctx, stage.AuditJob{Models: []stage.Audited{{Name: "A", Model: ann}}, Evaluators: []stage.Audited{{Name: "E", Model: tinyANN(t, path("ev"), 9)}},
		Test: randomSet(30, 3), Settings: as, Out: path("audit")}, nil)
	if !errors.As(err, &in) || in.Role != stage.RoleModel || in.Error() != ann.Path+" is an ANN; methods 2 and 3 attack a spiking network (methods 1 and 4 apply to an ANN)" {
		t.Errorf("audit of an ANN by methods 2 and 3: %v", err)
	}
	if _, err := os.Stat(path("audit")); err == nil {
		t.Error("the refused audit wrote its folder")
	}
}
