package modelfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/privatesnn/privatesnn/internal/outdir"
	"github.com/privatesnn/privatesnn/safetensors"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Checkpoint file names inside a run directory.
const (
	CheckpointWeights = "checkpoint.safetensors"
	CheckpointState   = "checkpoint.json"
)

// optimPrefix prefixes optimiser buffers in the checkpoint's safetensors file.
const optimPrefix = "optimizer/"

// Checkpoint is a resumable training state: the card so far, the position
// (next epoch and step, 0-based), the recipe and history as JSON, and the
// optimiser's buffers.
type Checkpoint struct {
	Card      Card                      `json:"card"`
	Epoch     int                       `json:"epoch"`
	Step      int                       `json:"step"`
	Options   json.RawMessage           `json:"options"`
	History   json.RawMessage           `json:"history,omitempty"`
	Optimizer map[string]*tensor.Tensor `json:"-"`
}

// SaveCheckpoint writes checkpoint.safetensors (weights and optimiser
// buffers) and checkpoint.json into dir, each atomically. The card's kind
// is KindSNN when it has spiking parameters (a run training an SNN), else
// KindANN. A dir that Save refuses is refused.
func SaveCheckpoint(dir string, m *vgg.Model, ck Checkpoint) error {
	if err := outdir.Check(dir, outdir.Model, outdir.Run); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	ck.Card.Format, ck.Card.Kind, ck.Card.Model = Format, KindANN, m.Config
	if ck.Card.SNN != nil {
		ck.Card.Kind = KindSNN
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	f := weightsFile(m, map[string]string{"format": Format, "content": "checkpoint"})
	for name, t := range ck.Optimizer {
		f.Tensors = append(f.Tensors, safetensors.Tensor{Name: optimPrefix + name, Shape: append([]int(nil), t.Shape...), Data: t.Data})
	}
	if err := safetensors.WriteFile(filepath.Join(dir, CheckpointWeights), f); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return writeJSON(filepath.Join(dir, CheckpointState), ck)
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint.
func LoadCheckpoint(dir string) (*vgg.Model, *Checkpoint, error) {
	sp := filepath.Join(dir, CheckpointState)
	b, err := readLimited(sp, maxCardBytes)
	if err != nil {
		return nil, nil, err
	}
	var ck Checkpoint
	if err := json.Unmarshal(b, &ck); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", sp, err)
	}
	if err := ck.Card.Validate(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", sp, err)
	}
	if ck.Epoch < 0 || ck.Step < 0 {
		return nil, nil, fmt.Errorf("read %s: negative position epoch %d step %d", sp, ck.Epoch, ck.Step)
	}
	wp := filepath.Join(dir, CheckpointWeights)
	f, err := safetensors.ReadFile(wp)
	if err != nil {
		return nil, nil, err
	}
	m, err := vgg.New(ck.Card.Model, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", sp, err)
	}
	if err := LoadWeights(m, f, optimPrefix); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", wp, err)
	}
	ck.Optimizer = map[string]*tensor.Tensor{}
	for _, t := range f.Tensors {
		if name, ok := strings.CutPrefix(t.Name, optimPrefix); ok {
			ck.Optimizer[name] = tensor.FromData(t.Data, t.Shape...)
		}
	}
	return m, &ck, nil
}

// RemoveCheckpoint deletes the checkpoint files in dir, if any; a finished
// run's model makes them redundant.
func RemoveCheckpoint(dir string) error {
	for _, name := range []string{CheckpointState, CheckpointWeights} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove checkpoint: %w", err)
		}
	}
	return nil
}
