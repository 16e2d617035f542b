package safetensors

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/privatesnn/privatesnn/internal/atomicfile"
)

// ReadFile reads and decodes the safetensors file at path. See [Decode] for
// the validation performed. Errors name path.
func ReadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: safetensors: not a regular file", path)
	}
	f, err := Decode(bufio.NewReaderSize(fh, 1<<16), st.Size())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return f, nil
}

// WriteFile encodes f (see [Encode]) and stores it at path atomically: it
// writes a temporary file in the same directory, syncs it to stable storage
// and renames it over path. On any error the temporary file is removed and
// an existing file at path is left untouched; path never holds a partial
// file. A file that replaces an existing one keeps its permission bits; a
// new file gets mode 0644. Errors name path.
func WriteFile(path string, f *File) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return Encode(w, f) }); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
