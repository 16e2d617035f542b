package modelfile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// TestRefThroughLink: a reference is taken from the directory a link
// points to, both when it is written (the output is a link) and when it is
// read (the model is opened through a link); a missing target names the
// path tried and what the card records.
func TestRefThroughLink(t *testing.T) {
	root := t.TempDir()
	ann := filepath.Join(root, "runs", "ann")
	if err := Save(ann, tinyModel(t, 1), Card{Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}}); err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(root, "elsewhere", "deep")
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "links", "snn")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	ref, err := NewRef(link, ann)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Path != "../../runs/ann" {
		t.Fatalf("ref from a linked output: %q, want ../../runs/ann (from the link's target)", ref.Path)
	}
	p, err := ref.Resolve(link)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(p); err != nil || !st.IsDir() || filepath.Clean(p) != filepath.Join(filepath.Dir(filepath.Dir(realDirOf(t, real))), "runs", "ann") {
		t.Fatalf("resolved through the link: %q (%v)", p, err)
	}
	os.RemoveAll(ann)
	_, err = ref.Resolve(link)
	if !errors.Is(err, ErrRefMissing) || !strings.Contains(err.Error(), link+", a link to ") || !strings.Contains(err.Error(), `records "../../runs/ann"`) {
		t.Fatalf("missing through a link: %v", err)
	}
}

// realDirOf is dir with links resolved.
func realDirOf(t *testing.T, dir string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDataFolder: the image folder is recorded relative to the model's
// directory and read back from wherever the two moved together; a derived
// model re-records it relative to its own directory.
func TestDataFolder(t *testing.T) {
	root := t.TempDir()
	folder, ann, snnDir := filepath.Join(root, "data", "digits"), filepath.Join(root, "runs", "ann"), filepath.Join(root, "runs", "deep", "snn")
	var c Card
	if err := c.SetDataFolder(ann, folder); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "../../data/digits" {
		t.Fatalf("recorded %q, want ../../data/digits", c.DataDir)
	}
	if got := c.DataFolder(ann); got != folder {
		t.Errorf("read back %q, want %q", got, folder)
	}
	d := c
	if err := d.SetDataFolder(snnDir, c.DataFolder(ann)); err != nil || d.DataDir != "../../../data/digits" || d.DataFolder(snnDir) != folder {
		t.Errorf("derived: %q (%v), reads %q", d.DataDir, err, d.DataFolder(snnDir))
	}
	if err := c.SetDataFolder(ann, ""); err != nil || c.DataDir != "" || c.DataFolder(ann) != "" {
		t.Errorf("no folder: %q, %v", c.DataDir, err)
	}
}
