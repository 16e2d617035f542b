package modelfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/safetensors"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

func tinyModel(t testing.TB, seed uint64) *vgg.Model {
	t.Helper()
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{4, vgg.A, 6}, Hidden: []int{8}, Classes: 3,
		InChannels: 1, InHeight: 6, InWidth: 6, FCDropout: 0.5}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(seed, seed)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func card() Card {
	return Card{Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}, ClassNames: []string{"a", "b", "c"}, Seed: 7,
		Metrics: map[string]float64{"test_accuracy": 0.5}, Provenance: Provenance{Dataset: "synthetic-test", Software: "test"}}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := tinyModel(t, 1)
	if err := Save(dir, m, card()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, WeightsFile), filepath.Join(dir, CardFile)} {
		got, c, err := Load(p)
		if err != nil {
			t.Fatalf("load %s: %v", p, err)
		}
		if c.Seed != 7 || c.Model.Name != "tiny" || c.ClassNames[2] != "c" {
			t.Fatalf("card %+v", c)
		}
		x := tensor.New(2, 1, 6, 6)
		x.RandUniform(rand.New(rand.NewPCG(2, 2)), -1, 1)
		a, b := m.Forward(x, nn.Mode{}).Clone(), got.Forward(x, nn.Mode{})
		for i := range a.Data {
			if a.Data[i] != b.Data[i] {
				t.Fatalf("logit %d differs after round trip: %g vs %g", i, a.Data[i], b.Data[i])
			}
		}
	}
}

func TestSaveIsDeterministic(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	if err := Save(d1, tinyModel(t, 3), card()); err != nil {
		t.Fatal(err)
	}
	if err := Save(d2, tinyModel(t, 3), card()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{WeightsFile, CardFile} {
		a, _ := os.ReadFile(filepath.Join(d1, f))
		b, _ := os.ReadFile(filepath.Join(d2, f))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs between two saves with the same seed", f)
		}
	}
}

func TestLoadWeightsMismatch(t *testing.T) {
	m := tinyModel(t, 1)
	f := weightsFile(m, nil)
	// wrong shape
	bad := *f
	bad.Tensors = append([]safetensors.Tensor(nil), f.Tensors...)
	bad.Tensors[0].Shape = []int{1, 2, 3}
	if err := LoadWeights(m, &bad); !errors.Is(err, ErrWeights) || !strings.Contains(err.Error(), "features.0.weight") {
		t.Fatalf("wrong shape: %v", err)
	}
	// missing
	bad.Tensors = f.Tensors[1:]
	if err := LoadWeights(m, &bad); err == nil || !strings.Contains(err.Error(), "missing features.0.weight") {
		t.Fatalf("missing: %v", err)
	}
	// extra
	bad.Tensors = append(append([]safetensors.Tensor(nil), f.Tensors...), safetensors.Tensor{Name: "extra", Shape: []int{1}, Data: []float32{1}})
	if err := LoadWeights(m, &bad); err == nil || !strings.Contains(err.Error(), "unexpected extra") {
		t.Fatalf("extra: %v", err)
	}
}

func TestCorruptCards(t *testing.T) {
	good, _ := json.Marshal(func() Card { c := card(); c.Format, c.Kind, c.Model = Format, "ann", tinyModel(t, 1).Config; return c }())
	if _, err := DecodeCard(good, "x"); err != nil {
		t.Fatalf("good card rejected: %v", err)
	}
	for name, mutate := range map[string]func(string) string{
		"format":       func(s string) string { return strings.Replace(s, Format, "other/v9", 1) },
		"kind":         func(s string) string { return strings.Replace(s, `"kind":"ann"`, `"kind":"toaster"`, 1) },
		"classes":      func(s string) string { return strings.Replace(s, `"classes":3`, `"classes":-3`, 1) },
		"huge":         func(s string) string { return strings.Replace(s, `"hidden":[8]`, `"hidden":[65536,65536,65536]`, 1) },
		"unknown":      func(s string) string { return strings.Replace(s, `{`, `{"bogus":1,`, 1) },
		"truncated":    func(s string) string { return s[:len(s)/2] },
		"std":          func(s string) string { return strings.Replace(s, `"std":0.5`, `"std":0`, 1) },
		"class names":  func(s string) string { return strings.Replace(s, `["a","b","c"]`, `["a"]`, 1) },
		"bad features": func(s string) string { return strings.Replace(s, `[4,"A",6]`, `[4,"B",6]`, 1) },
		"trailing":     func(s string) string { return s + "{}" },
	} {
		if _, err := DecodeCard([]byte(mutate(string(good))), "card.json"); err == nil || !strings.Contains(err.Error(), "card.json") {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}

func TestLoadMissingAndCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), CardFile) {
		t.Fatalf("missing card: %v", err)
	}
	if err := Save(dir, tinyModel(t, 1), card()); err != nil {
		t.Fatal(err)
	}
	wp := filepath.Join(dir, WeightsFile)
	b, _ := os.ReadFile(wp)
	os.WriteFile(wp, b[:len(b)-10], 0o644)
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), WeightsFile) {
		t.Fatalf("truncated weights: %v", err)
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := tinyModel(t, 4)
	opt := map[string]*tensor.Tensor{"features.0.weight.momentum": tensor.FromData([]float32{1, 2, 3}, 3)}
	ck := Checkpoint{Card: card(), Epoch: 2, Step: 5, Options: json.RawMessage(`{"epochs":3}`), Optimizer: opt}
	if err := SaveCheckpoint(dir, m, ck); err != nil {
		t.Fatal(err)
	}
	got, back, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	var opts bytes.Buffer
	json.Compact(&opts, back.Options)
	if back.Epoch != 2 || back.Step != 5 || opts.String() != `{"epochs":3}` {
		t.Fatalf("checkpoint %+v", back)
	}
	if v := back.Optimizer["features.0.weight.momentum"]; v == nil || v.Data[2] != 3 {
		t.Fatalf("optimizer state %v", back.Optimizer)
	}
	if got.Params()[0].W.Data[0] != m.Params()[0].W.Data[0] {
		t.Fatal("weights differ")
	}
}

func FuzzDecodeCard(f *testing.F) {
	c := card()
	c.Format, c.Kind, c.Model = Format, "ann", tinyModel(f, 1).Config
	good, _ := json.Marshal(c)
	f.Add(good)
	c.Kind = "snn"
	c.SNN = &SNNSpec{Config: snn.Config{Timesteps: 50, Leak: 1, Thresholds: []float32{1, 2, 3}}, Calibration: Calibration{Method: "max-current", Scale: 1}}
	snnCard, _ := json.Marshal(c)
	f.Add(snnCard)
	c.SNN = selectedSpec()
	selected, _ := json.Marshal(c)
	f.Add(selected)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"privatesnn.model/v1","kind":"ann","model":{"features":[1,"A"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCard(b, "fuzz.json")
		if err != nil {
			return
		}
		// A card that validates must describe a buildable network of bounded size.
		if c.Model.NumParamsEstimate() > maxParams {
			t.Fatalf("validated card with %d params", c.Model.NumParamsEstimate())
		}
	})
}

func TestSNNRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := tinyModel(t, 5)
	c := card()
	c.Provenance.TrainingDataAccessed = false
	c.SNN = &SNNSpec{Config: snn.Config{Timesteps: 20, Leak: 1, Reset: snn.ResetSubtract, Encoder: snn.Poisson,
		Thresholds: []float32{1.5, 2.5, 3.5}}, Calibration: Calibration{Method: "max-current", Scale: 1, Images: 10, Source: "synthetic"}}
	if err := Save(dir, m, c); err != nil {
		t.Fatal(err)
	}
	net, back, err := loadSNN(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Kind != "snn" || back.SNN.Thresholds[2] != 3.5 || net.Config.Timesteps != 20 || back.Provenance.TrainingDataAccessed {
		t.Fatalf("card %+v", back)
	}
	b, _ := os.ReadFile(filepath.Join(dir, CardFile))
	if !strings.Contains(string(b), `"training_data_accessed": false`) || !strings.Contains(string(b), `"reset": "subtract"`) {
		t.Fatalf("card JSON lacks the data-freeness record or readable enums:\n%s", b)
	}
	// An ANN is not an SNN.
	adir := t.TempDir()
	if err := Save(adir, m, card()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadSNN(adir); err == nil {
		t.Fatal("LoadSNN accepted an ANN")
	}
	// Wrong threshold count is rejected on save.
	c.SNN.Thresholds = []float32{1}
	if err := Save(t.TempDir(), m, c); err == nil {
		t.Fatal("saved an SNN with the wrong threshold count")
	}
}

func TestCalibrationMethodText(t *testing.T) {
	for _, m := range []CalibrationMethod{MaxCurrent, PercentileCurrent, FromFile, PercentileActivation, QCFSClips} {
		b, _ := m.MarshalText()
		var back CalibrationMethod
		if err := back.UnmarshalText(b); err != nil || back != m {
			t.Errorf("%q: read back %q, %v", b, back, err)
		}
	}
	var m CalibrationMethod
	err := m.UnmarshalText([]byte("max"))
	if err == nil || !strings.Contains(err.Error(), "max-current, percentile-current, percentile-activation, qcfs-clips or from-file") || m != "" {
		t.Errorf("unknown method: %v, set to %q", err, m)
	}
	var c Calibration
	if err := json.Unmarshal([]byte(`{"method": "mean-current", "scale": 1}`), &c); err == nil {
		t.Error("a card with an unknown calibration method was read")
	}
}

// loadSNN reads a spiking model and builds its network, as the stage layer
// does.
func loadSNN(path string) (*snn.Network, *Card, error) {
	m, c, err := Load(path)
	if err != nil {
		return nil, nil, err
	}
	if c.Kind != KindSNN {
		return nil, nil, fmt.Errorf("read %s: model kind %q, want an SNN", path, c.Kind)
	}
	n, err := snn.New(m, c.SNN.Config)
	return n, c, err
}

// TestReadCardBareWeights: a weights file without its card is a bare
// state_dict (ErrNoCard naming both files), whether named as the file or
// as its directory; an empty directory is a plain missing file.
func TestReadCardBareWeights(t *testing.T) {
	dir := t.TempDir()
	if err := Save(dir, tinyModel(t, 1), Card{Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, CardFile)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, WeightsFile)} {
		_, err := ReadCard(p)
		if !errors.Is(err, ErrNoCard) || !strings.Contains(err.Error(), filepath.Join(dir, CardFile)) {
			t.Errorf("ReadCard(%s): %v, want ErrNoCard naming the card", p, err)
		}
	}
	if _, err := ReadCard(t.TempDir()); errors.Is(err, ErrNoCard) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty directory: %v, want a missing file", err)
	}
}

// A QCFS ANN round-trips with its clips; cards that put QCFS activations
// into an SNN or whose quantisation record does not fit are refused.
func TestQCFSRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyModel(t, 1).Config
	cfg.Levels = 4
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range m.Acts {
		a.Clip.W.Data[0] = 0.5 + float32(i)
	}
	c := card()
	c.Quantisation = &Quantisation{Levels: 4, Clips: m.Clips(), Source: "synthetic:s", ParentSHA256: "ab"}
	if err := Save(dir, m, c); err != nil {
		t.Fatal(err)
	}
	got, gc, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Clips()) != "[0.5 1.5 2.5]" || gc.Quantisation == nil || gc.Model.Levels != 4 {
		t.Fatalf("loaded clips %v, card %+v", got.Clips(), gc.Quantisation)
	}
	bad := *gc
	bad.Quantisation = &Quantisation{Levels: 4, Clips: []float32{1}}
	if bad.Validate() == nil {
		t.Error("a record of 1 clip for 3 layers accepted")
	}
	snnCard := *gc
	snnCard.Kind, snnCard.Quantisation = KindSNN, nil
	snnCard.SNN = &SNNSpec{Config: snn.Config{Timesteps: 4, Thresholds: []float32{1, 1, 1}, Leak: 1, Encoder: snn.Direct}}
	if err := snnCard.Validate(); err == nil || !strings.Contains(err.Error(), "QCFS") {
		t.Errorf("an SNN card with QCFS activations: %v", err)
	}
}
