package modelfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

// FuzzLoadCheckpoint: no checkpoint state or weights file panics, and a
// checkpoint that loads has a model of bounded size built from its card,
// a non-negative position and optimiser buffers whose data fill their
// shapes.
func FuzzLoadCheckpoint(f *testing.F) {
	dir := f.TempDir()
	opt := map[string]*tensor.Tensor{"features.0.weight.momentum": tensor.FromData([]float32{1, 2, 3}, 3)}
	ck := Checkpoint{Card: card(), Epoch: 2, Step: 5, Options: json.RawMessage(`{"epochs":3}`),
		History: json.RawMessage(`[{"epoch":1}]`), Optimizer: opt}
	if err := SaveCheckpoint(dir, tinyModel(f, 4), ck); err != nil {
		f.Fatal(err)
	}
	state, err := os.ReadFile(filepath.Join(dir, CheckpointState))
	if err != nil {
		f.Fatal(err)
	}
	weights, err := os.ReadFile(filepath.Join(dir, CheckpointWeights))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(state, weights)
	f.Add([]byte(`{"card":{}}`), weights)
	f.Add(state, weights[:len(weights)/2])
	f.Add(state, []byte{})
	d := f.TempDir() // one per fuzzing process, whose inputs run one at a time
	f.Fuzz(func(t *testing.T, state, weights []byte) {
		if err := os.WriteFile(filepath.Join(d, CheckpointState), state, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, CheckpointWeights), weights, 0o644); err != nil {
			t.Fatal(err)
		}
		m, ck, err := LoadCheckpoint(d)
		if err != nil {
			return
		}
		if n := ck.Card.Model.NumParamsEstimate(); n > maxParams {
			t.Fatalf("loaded a checkpoint of %d params", n)
		}
		if !reflect.DeepEqual(m.Config, ck.Card.Model) {
			t.Fatalf("model %+v built from card %+v", m.Config, ck.Card.Model)
		}
		if ck.Epoch < 0 || ck.Step < 0 {
			t.Fatalf("position epoch %d step %d", ck.Epoch, ck.Step)
		}
		for name, v := range ck.Optimizer {
			want := 1
			for _, s := range v.Shape {
				want *= s
			}
			if len(v.Data) != want {
				t.Fatalf("optimiser buffer %s: %d values for shape %v", name, len(v.Data), v.Shape)
			}
		}
	})
}
