package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestPythonFilesByteIdentical decodes the files under testdata/torch —
// written by the hand-rolled Python writer in scripts/stfile.py, or by Go
// tests for PyTorch to read — and checks that Encode reproduces them byte
// for byte, which pins the
// cross-language determinism claimed in the package documentation.
func TestPythonFilesByteIdentical(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "torch", "*.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skip("no files in testdata/torch")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// Python-written files name their script and torch version;
			// the Go-written counterparts (checked in PyTorch) their writer.
			if (f.Metadata["script"] == "" || f.Metadata["torch"] == "") && f.Metadata["writer"] == "" {
				t.Errorf("metadata %v names neither script and torch version nor writer", f.Metadata)
			}
			var buf bytes.Buffer
			if err := Encode(&buf, f); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("re-encoding differs from the Python-written file (%d vs %d bytes)", buf.Len(), len(want))
			}
		})
	}
}
