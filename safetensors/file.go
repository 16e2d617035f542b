package safetensors

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
func WriteFile(path string, f *File) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	perm := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		perm = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<16)
	if err := Encode(w, f); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable where the platform supports it. It
// is best effort: the new file is already in place, and some systems cannot
// sync directories.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
