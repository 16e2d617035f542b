package synth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/internal/outdir"
)

// twoClassSet returns a 1×4×4 set of perClass images in each of 2
// classes, with its manifest.
func twoClassSet(perClass int) (*Set, Manifest) {
	s := testSet(1, 4, 4, 2, nil, nil, nil)
	for c := range int32(2) {
		for range perClass {
			s.Labels = append(s.Labels, c)
			s.Soft = append(s.Soft, 0.5, 0.5)
		}
	}
	s.Pixels = make([]uint8, len(s.Labels)*16)
	return s, Manifest{Format: ManifestFormat, Classes: 2, PerClass: perClass, Images: len(s.Labels)}
}

// TestWriteDirRefuses: WriteDir, and CheckDir before it, refuse a file, a
// folder holding another kind of artifact and a folder holding a file of
// the set's names that no manifest lists, even with overwrite, and leave
// them as they were.
func TestWriteDirRefuses(t *testing.T) {
	root := t.TempDir()
	s, man := twoClassSet(1)
	for _, c := range []struct {
		name  string
		files []string
		want  string
	}{
		{"model", []string{"model.json", "model.safetensors"}, "holds a model, not a synthetic image set"},
		{"attack", []string{"attack.json"}, "holds an attack, not a synthetic image set"},
		{"users", []string{GridFile, "notes.txt"}, "holds grid.png, which no synthetic image set's manifest.json there lists"},
		{"users2", []string{filepath.Join("cls1", "img0.png"), BinaryFile}, "holds cls1/img0.png and 1 more files that no"},
	} {
		dir := filepath.Join(root, c.name)
		for _, f := range c.files {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), []byte("user's"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var e *outdir.Error
		if err := CheckDir(dir, 2, 1, true); !errors.As(err, &e) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckDir %s: %v, want %q", c.name, err, c.want)
		}
		if err := WriteDir(dir, s, man, true); !errors.As(err, &e) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WriteDir %s: %v, want %q", c.name, err, c.want)
		}
		for _, f := range c.files {
			if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(b) != "user's" {
				t.Errorf("%s/%s: %q, %v", c.name, f, b, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
			t.Errorf("%s: a manifest was written", c.name)
		}
	}
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteDir(file, s, man, true); err == nil || !strings.Contains(err.Error(), "is a file, not a directory") {
		t.Errorf("WriteDir into a file: %v", err)
	}
}

// TestWriteDirEmpty: an existing empty folder (a pipeline's stage folder)
// is replaced by the finished set in one rename.
func TestWriteDirEmpty(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "stage")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, man := twoClassSet(2)
	if err := CheckDir(dir, 2, 2, true); err != nil {
		t.Fatal(err)
	}
	if err := WriteDir(dir, s, man, true); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("temporary directories left behind: %v", entries)
	}
}
