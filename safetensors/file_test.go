package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dirNames lists the entries of dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names
}

func TestWriteFileReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	in := sampleFile()
	if err := WriteFile(path, in); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, encodeBytes(t, in)) {
		t.Error("file content differs from Encode output")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", st.Mode().Perm())
	}
	out, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tensors) != len(in.Tensors) {
		t.Errorf("ReadFile: %d tensors, want %d", len(out.Tensors), len(in.Tensors))
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory holds %q, want only the file", names)
	}
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &File{Tensors: []Tensor{{Name: "x", Shape: []int{1}, Data: []float32{3}}}}
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil || got.Tensors[0].Data[0] != 3 {
		t.Fatalf("ReadFile after replace: %v, %v", got, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want the old file's 0600", st.Mode().Perm())
	}
}

// TestWriteFileAtomic checks that failed writes leave the destination as it
// was and remove their temporary files.
func TestWriteFileAtomic(t *testing.T) {
	valid := &File{Tensors: []Tensor{{Name: "x", Shape: []int{1}, Data: []float32{1}}}}
	invalid := &File{Tensors: []Tensor{{Name: "x", Shape: []int{2}, Data: []float32{1}}}}

	t.Run("encode fails", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "m.safetensors")
		if err := os.WriteFile(path, []byte("old content"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := WriteFile(path, invalid)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("error = %v, want one naming %s", err, path)
		}
		if got, _ := os.ReadFile(path); string(got) != "old content" {
			t.Errorf("destination changed to %q", got)
		}
		if names := dirNames(t, dir); len(names) != 1 {
			t.Errorf("directory holds %q, want only the old file", names)
		}
	})

	t.Run("rename fails", func(t *testing.T) {
		// The destination is a non-empty directory, which rename(2)
		// cannot replace with a file.
		dir := t.TempDir()
		path := filepath.Join(dir, "m.safetensors")
		if err := os.MkdirAll(filepath.Join(path, "keep"), 0o755); err != nil {
			t.Fatal(err)
		}
		err := WriteFile(path, valid)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("error = %v, want one naming %s", err, path)
		}
		if _, err := os.Stat(filepath.Join(path, "keep")); err != nil {
			t.Errorf("destination damaged: %v", err)
		}
		if names := dirNames(t, dir); len(names) != 1 {
			t.Errorf("directory holds %q, want only the destination", names)
		}
	})

	t.Run("missing directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "no", "such", "m.safetensors")
		if err := WriteFile(path, valid); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("error = %v, want one naming %s", err, path)
		}
	})
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.safetensors")
	if err := os.WriteFile(corrupt, rawFile(`{"a":1}`, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.safetensors"), corrupt, dir} {
		if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadFile(%s) error = %v, want one naming the path", path, err)
		}
	}
}
