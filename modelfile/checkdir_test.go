package modelfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Save and SaveCheckpoint refuse a folder holding another kind of
// artifact and a file that is not a directory; Save also refuses a
// weights file that no card or checkpoint beside it makes a model's. What
// is there stays as it was.
func TestSaveRefuses(t *testing.T) {
	root := t.TempDir()
	for _, c := range []struct{ file, want string }{
		{"manifest.json", "holds a synthetic image set, not a model"},
		{"audit.json", "holds an audit, not a model"},
		{WeightsFile, "holds model.safetensors, which no model's model.json there lists"},
	} {
		dir := filepath.Join(root, c.file)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, c.file), []byte("user's"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Save(dir, tinyModel(t, 1), card()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Save next to %s: %v, want %q", c.file, err, c.want)
		}
		if b, err := os.ReadFile(filepath.Join(dir, c.file)); err != nil || string(b) != "user's" {
			t.Errorf("%s: %q, %v", c.file, b, err)
		}
		if _, err := os.Stat(filepath.Join(dir, CardFile)); err == nil {
			t.Errorf("a card was written next to %s", c.file)
		}
	}
	err := SaveCheckpoint(filepath.Join(root, "manifest.json"), tinyModel(t, 1), Checkpoint{Card: card(), Options: json.RawMessage(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "holds a synthetic image set") {
		t.Errorf("SaveCheckpoint into a synthetic set: %v", err)
	}
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Save(file, tinyModel(t, 1), card()); err == nil || !strings.Contains(err.Error(), "is a file, not a directory") {
		t.Errorf("Save into a file: %v", err)
	}
	// A model saved again passes, and so does a run's model whose weights
	// were written next to its checkpoint before an interruption.
	dir := filepath.Join(root, "model")
	for range 2 {
		if err := Save(dir, tinyModel(t, 1), card()); err != nil {
			t.Fatal(err)
		}
	}
	run := filepath.Join(root, "run")
	if err := SaveCheckpoint(run, tinyModel(t, 1), Checkpoint{Card: card(), Options: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, WeightsFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Save(run, tinyModel(t, 1), card()); err != nil {
		t.Errorf("Save next to a checkpoint and its half-written model: %v", err)
	}
}
