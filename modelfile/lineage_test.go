package modelfile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
)

// TestRef: a reference survives moving both artifacts together, and a
// missing or replaced target is reported with its own error.
func TestRef(t *testing.T) {
	root := t.TempDir()
	ann, snnDir := filepath.Join(root, "runs", "ann"), filepath.Join(root, "runs", "snn")
	if err := Save(ann, tinyModel(t, 1), Card{ClassNames: nil, Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}}); err != nil {
		t.Fatal(err)
	}
	ref, err := NewRef(snnDir, ann)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Path != "../ann" || len(ref.SHA256) != 64 {
		t.Fatalf("ref %+v", ref)
	}
	if p, err := ref.Resolve(snnDir); err != nil || p != ann {
		t.Fatalf("resolve: %q, %v", p, err)
	}
	moved := filepath.Join(root, "moved")
	if err := os.Rename(filepath.Join(root, "runs"), moved); err != nil {
		t.Fatal(err)
	}
	if p, err := ref.Resolve(filepath.Join(moved, "snn")); err != nil || p != filepath.Join(moved, "ann") {
		t.Fatalf("after a move: %q, %v", p, err)
	}
	if err := Save(filepath.Join(moved, "ann"), tinyModel(t, 2), Card{Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ref.Resolve(filepath.Join(moved, "snn")); !errors.Is(err, ErrRefChanged) {
		t.Fatalf("replaced target: %v, want ErrRefChanged", err)
	}
	os.RemoveAll(filepath.Join(moved, "ann"))
	if _, err := ref.Resolve(filepath.Join(moved, "snn")); !errors.Is(err, ErrRefMissing) {
		t.Fatalf("missing target: %v, want ErrRefMissing", err)
	}
}

// TestRefLegacyString: cards of earlier versions stored the parent as a
// bare path string.
func TestRefLegacyString(t *testing.T) {
	var p Provenance
	if err := json.Unmarshal([]byte(`{"parent":"runs/ann","training_data_accessed":false,"software":"x"}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.Parent == nil || p.Parent.Path != "runs/ann" || p.Parent.SHA256 != "" {
		t.Fatalf("parent %+v", p.Parent)
	}
}

// TestInterruptedRun: a directory with only a checkpoint is reported as an
// interrupted run, not as a missing file.
func TestInterruptedRun(t *testing.T) {
	dir := t.TempDir()
	if err := SaveCheckpoint(dir, tinyModel(t, 1), Checkpoint{Card: Card{Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}}, Options: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(dir); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("load: %v, want ErrInterrupted", err)
	}
	if err := RemoveCheckpoint(dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(dir); err == nil || errors.Is(err, ErrInterrupted) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("load of an empty dir: %v", err)
	}
}
