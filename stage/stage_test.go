package stage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// tinyANN saves a random 1×8×8 → 3-class network in dir and loads it.
func tinyANN(t testing.TB, dir string, seed uint64) *stage.Model {
	t.Helper()
	cfg, err := vgg.Spec{Preset: "small", Features: vgg.FeatureList{4, vgg.Pool}, Hidden: &vgg.Widths{8}, ConvDropout: -1, FCDropout: -1}.Config(1, 8, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	card := modelfile.Card{Normalization: imageset.TrainingNormalization(), ClassNames: []string{"a", "b", "c"},
		Provenance: modelfile.Provenance{TrainingDataAccessed: true}}
	if err := modelfile.Save(dir, m, card); err != nil {
		t.Fatal(err)
	}
	loaded, err := stage.LoadModel(dir, stage.RoleModel, modelfile.KindANN)
	if err != nil {
		t.Fatal(err)
	}
	return loaded
}

// randomSet returns n random 1×8×8 images in 3 classes, each class alike
// often.
func randomSet(n int, seed uint64) *imageset.Set {
	rng := rand.New(rand.NewPCG(seed, 2))
	s := &imageset.Set{Name: "random/test", Channels: 1, Height: 8, Width: 8, Classes: 3, ClassNames: []string{"a", "b", "c"},
		Pixels: make([]uint8, n*64), Labels: make([]int32, n)}
	for i := range s.Pixels {
		s.Pixels[i] = uint8(rng.IntN(256))
	}
	for i := range s.Labels {
		s.Labels[i] = int32(i % 3)
	}
	return s
}

// The stages chained on a tiny network: synthesis, conversion, class
// encryption, evaluation, energy, an attack and an audit, each on loaded
// values, with the records the artifacts must carry.
func TestStagesChained(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	ann := tinyANN(t, path("ann"), 1)
	ss := synth.DefaultSettings()
	ss.PerClass, ss.Iterations, ss.Batch = 4, 3, 4
	if _, err := stage.Synth(ctx, stage.SynthJob{Out: path("synth"), ANN: ann, Settings: ss}, nil); err != nil {
		t.Fatal(err)
	}
	syn, err := stage.LoadSynthetic(path("synth"))
	if err != nil || syn.CheckMadeFrom(ann) != nil {
		t.Fatalf("synthetic set: %v", err)
	}
	cs := convert.DefaultSettings(convert.RecipePaper)
	cs.Timesteps, cs.CalibImages = 4, 8
	cv, err := stage.Convert(ctx, stage.ConvertJob{Out: path("snn"), ANN: ann, Synth: syn, Settings: cs}, nil)
	if err != nil || len(cv.Thresholds) != 2 || cv.Timesteps != 4 {
		t.Fatalf("convert: %+v, %v", cv, err)
	}
	sn, err := stage.LoadModel(path("snn"), stage.RoleModel, modelfile.KindSNN)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := sn.AncestorANN(); err != nil || p != path("ann") || sn.Card.Provenance.TrainingDataAccessed {
		t.Fatalf("SNN card: parent %q (%v), data accessed %v", p, err, sn.Card.Provenance.TrainingDataAccessed)
	}
	es := stage.DefaultEncryptSettings()
	es.Epochs, es.PerClass, es.BatchSize = 1, 2, 3
	enc, err := stage.Encrypt(ctx, stage.EncryptJob{Out: path("enc"), SNN: sn, Synth: syn, Settings: es}, nil)
	if err != nil || enc.Teacher != path("ann") || enc.Images != 6 || len(enc.History) != 1 {
		t.Fatalf("encrypt: %+v, %v", enc, err)
	}
	// A defence is recorded in the card by name and strength, and the
	// model still records that no training data was read.
	es.TrapdoorRate, es.LabelSmoothing = 0.5, -0.1
	if _, err := stage.Encrypt(ctx, stage.EncryptJob{Out: path("enc-def"), SNN: sn, Synth: syn, Settings: es}, nil); err != nil {
		t.Fatal(err)
	}
	def, err := stage.LoadModel(path("enc-def"), stage.RoleModel, modelfile.KindSNN)
	if err != nil {
		t.Fatal(err)
	}
	if e := def.Card.SNN.Encryption; e == nil || e.Defenses != "nls α=-0.1, trapdoor ρ=0.5 β=0.3" || def.Card.Provenance.TrainingDataAccessed {
		t.Errorf("defended card: %+v, data accessed %v", e, def.Card.Provenance.TrainingDataAccessed)
	}
	es.TrapdoorRate, es.LabelSmoothing = 0, 0
	test := randomSet(30, 3)
	for _, m := range []*stage.Model{ann, sn} {
		r, err := stage.Eval(ctx, stage.EvalJob{Model: m, Data: test, Settings: stage.EvalSettings{Points: 2}}, nil)
		if err != nil || r.Images != 30 || (m == sn) != (len(r.AccuracyByTimestep) == 2) {
			t.Fatalf("eval %s: %+v, %v", m.Path, r, err)
		}
	}
	en, err := stage.Energy(ctx, stage.EnergyJob{Model: sn, Data: test}, nil)
	if err != nil || len(en.Reports) != len(stage.EnergyCosts()) || en.Timesteps != 4 {
		t.Fatalf("energy: %+v, %v", en, err)
	}
	as := audit.DefaultSettings()
	as.PerClass, as.Methods, as.Attack1.Iterations = 1, audit.Of(attack.Visualize), 2
	rec, err := stage.Attack(ctx, stage.AttackJob{Model: sn, Method: audit.Attack{Method: attack.Visualize}, Settings: as, Out: path("attack")}, nil)
	if err != nil || rec.Images != 3 {
		t.Fatalf("attack: %+v, %v", rec, err)
	}
	if _, err := os.Stat(filepath.Join(path("attack"), stage.AttackFile)); err != nil {
		t.Fatal(err)
	}
	ev := tinyANN(t, path("evaluator"), 9)
	au, err := stage.Audit(ctx, stage.AuditJob{Models: []stage.Audited{{Name: "DC", Model: sn}}, Evaluators: []stage.Audited{{Name: "E", Model: ev}}, Test: test, Synth: syn,
		Settings: as, Out: path("audit")}, nil)
	if err != nil || len(au.Models) != 1 || au.Grids["DC/attack1"] == "" || au.Models[0].WeightsSHA256 != sn.Card.WeightsSHA256 || sn.Card.WeightsSHA256 == "" || len(au.EvaluatorModels[0].WeightsSHA256) != 64 {
		t.Fatalf("audit: %+v, %v", au, err)
	}
	// The evaluator must be independent of the audited model's ANN.
	_, err = stage.Audit(ctx, stage.AuditJob{Models: []stage.Audited{{Name: "DC", Model: sn}}, Evaluators: []stage.Audited{{Name: "E", Model: ann}}, Test: test, Settings: as, Out: path("audit2")}, nil)
	var in *stage.InputError
	if !errors.As(err, &in) || in.Role != stage.RoleEvaluator {
		t.Errorf("audit with the model's own ANN as evaluator: %v", err)
	}
}

// A resumed encryption needs a checkpoint, and refuses other settings
// than the interrupted run's.
func TestEncryptResume(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	ann := tinyANN(t, filepath.Join(dir, "ann"), 1)
	ss := synth.DefaultSettings()
	ss.PerClass, ss.Iterations, ss.Batch = 3, 2, 3
	if _, err := stage.Synth(ctx, stage.SynthJob{Out: filepath.Join(dir, "synth"), ANN: ann, Settings: ss}, nil); err != nil {
		t.Fatal(err)
	}
	syn, err := stage.LoadSynthetic(filepath.Join(dir, "synth"))
	if err != nil {
		t.Fatal(err)
	}
	cs := convert.DefaultSettings(convert.RecipePaper)
	cs.Timesteps, cs.CalibImages = 3, 6
	if _, err := stage.Convert(ctx, stage.ConvertJob{Out: filepath.Join(dir, "snn"), ANN: ann, Synth: syn, Settings: cs}, nil); err != nil {
		t.Fatal(err)
	}
	sn, err := stage.LoadModel(filepath.Join(dir, "snn"), stage.RoleModel, modelfile.KindSNN)
	if err != nil {
		t.Fatal(err)
	}
	es := stage.DefaultEncryptSettings()
	es.Epochs, es.PerClass, es.BatchSize = 2, 2, 2
	job := stage.EncryptJob{Out: filepath.Join(dir, "enc"), SNN: sn, Teacher: ann, Synth: syn, Settings: es, Resume: true}
	if _, err := stage.Encrypt(ctx, job, nil); !errors.Is(err, stage.ErrNothingToResume) {
		t.Fatalf("resume without a checkpoint: %v", err)
	}
	job.Resume = false
	rec := &progresstest.Recorder{T: t, StopAfter: 4}
	_, err = stage.Encrypt(ctx, job, rec.Func())
	rec.CheckStopped(err)
	job.Resume, job.Settings.LR = true, 2*es.LR
	if _, err := stage.Encrypt(ctx, job, nil); !errors.Is(err, stage.ErrSettingsChanged) {
		t.Fatalf("resume with another learning rate: %v", err)
	}
	job.Settings.LR = es.LR
	r, err := stage.Encrypt(ctx, job, nil)
	if err != nil || len(r.History) != 2 {
		t.Fatalf("resume: %+v, %v", r, err)
	}
	if !(r.EarlierSeconds() > 0) || r.Seconds < r.EarlierSeconds() {
		t.Errorf("resumed run took %g s, %g s of them before the resume", r.Seconds, r.EarlierSeconds())
	}
}

// Inputs that do not fit are *InputErrors naming their role, and what
// they hold.
func TestInputErrors(t *testing.T) {
	dir := t.TempDir()
	ann := tinyANN(t, filepath.Join(dir, "ann"), 1)
	var in *stage.InputError
	var kind *stage.KindError
	if _, err := stage.LoadModel(ann.Path, stage.RoleANN, modelfile.KindSNN); !errors.As(err, &kind) || !errors.As(err, &in) ||
		in.Role != stage.RoleANN || !in.Describes() || kind.Have != modelfile.KindANN {
		t.Errorf("ANN loaded as an SNN: %v", err)
	}
	if _, err := stage.LoadModel(filepath.Join(dir, "missing"), stage.RoleModel, ""); !errors.As(err, &in) || in.Describes() {
		t.Errorf("missing model: %v", err)
	}
	if _, err := stage.LoadSynthetic(ann.Path); !errors.Is(err, stage.ErrModelNotSet) {
		t.Errorf("a model as a synthetic set: %v", err)
	}
	other := randomSet(6, 1)
	other.Channels, other.Pixels = 3, make([]uint8, 6*3*64)
	if err := stage.CheckData(other, stage.RoleData, ann); !errors.As(err, &in) || in.Role != stage.RoleData || !in.Describes() {
		t.Errorf("3-channel data for a grey model: %v", err)
	}
	var out *stage.OutError
	if err := stage.CheckOut(filepath.Join(ann.Path, "x"), ann.Path); !errors.As(err, &out) || !out.Inside {
		t.Errorf("--out inside the input: %v", err)
	}
	if err := stage.CheckOut(dir, ann.Path); !errors.As(err, &out) || out.Inside {
		t.Errorf("--out holding the input: %v", err)
	}
	// Settings that do not fit name their key.
	cs := convert.DefaultSettings(convert.RecipeSelect)
	cs.CalibImages = 1000
	syn := &stage.Synthetic{Path: "s", Set: &synth.Set{Set: *randomSet(9, 4)}}
	_, err := stage.Convert(context.Background(), stage.ConvertJob{Out: filepath.Join(dir, "snn"), ANN: ann, Synth: syn, Settings: cs}, nil)
	if e, ok := setting.As(err); !ok || e.Key != "calib_images" {
		t.Errorf("calibration images beyond the set: %v", err)
	}
}

func TestReadouts(t *testing.T) {
	for _, c := range []struct {
		got, want []int
	}{
		{stage.Spread(8, 8), []int{1, 2, 3, 4, 5, 6, 7, 8}},
		{stage.Spread(64, 4), []int{16, 32, 48, 64}},
		{stage.Spread(3, 8), []int{1, 2, 3}},
		{stage.EveryNth(64, 20), []int{3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63}},
		{stage.EveryNth(8, 10), []int{1, 2, 3, 4, 5, 6, 7, 8}},
	} {
		if len(c.got) != len(c.want) {
			t.Errorf("%v, want %v", c.got, c.want)
			continue
		}
		for i := range c.got {
			if c.got[i] != c.want[i] {
				t.Errorf("%v, want %v", c.got, c.want)
				break
			}
		}
	}
}

// A select conversion's card records no wall times: two runs with the same
// seed write the same bytes.
func TestConvertCardReproducible(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	ann := tinyANN(t, filepath.Join(dir, "ann"), 1)
	ss := synth.DefaultSettings()
	ss.PerClass, ss.Iterations, ss.Batch = 12, 2, 12
	if _, err := stage.Synth(ctx, stage.SynthJob{Out: filepath.Join(dir, "synth"), ANN: ann, Settings: ss}, nil); err != nil {
		t.Fatal(err)
	}
	syn, err := stage.LoadSynthetic(filepath.Join(dir, "synth"))
	if err != nil {
		t.Fatal(err)
	}
	cs := convert.DefaultSettings(convert.RecipeSelect)
	cs.Timesteps, cs.CalibImages, cs.HeldOut = 4, 8, 8
	var cards [2][]byte
	for i := range cards {
		out := filepath.Join(dir, fmt.Sprintf("snn%d", i))
		r, err := stage.Convert(ctx, stage.ConvertJob{Out: out, ANN: ann, Synth: syn, Settings: cs}, nil)
		if err != nil || r.Selection == nil || r.Selection.Seconds == 0 {
			t.Fatalf("convert: %+v, %v", r, err)
		}
		if cards[i], err = os.ReadFile(filepath.Join(out, modelfile.CardFile)); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(cards[0], cards[1]) {
		t.Error("two select conversions with the same seed wrote different cards")
	}
}
