// Package atomicfile writes files so that a reader sees either the old or the
// new content, never a partial file: the bytes go to a temporary file in the
// same directory, are synced, given their final mode and renamed into place,
// and the directory is synced (best effort) so the rename is durable.
//
// # Error handling
//
// Every error names the destination path. On failure the temporary file is
// removed and the destination is untouched.
//
// # Concurrency
//
// Writes to different paths are independent; concurrent writes to one path
// leave one of the contents whole.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Mode is the permission given to new files; it is set explicitly, so the
// umask does not apply. A replaced regular file keeps its permission bits.
const Mode fs.FileMode = 0o644

// Write creates or replaces path with what fill writes.
func Write(path string, fill func(io.Writer) error) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	perm := Mode
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		perm = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				tmp.Close()
			}
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<16)
	if err := fill(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// WriteFile creates or replaces path with b.
func WriteFile(path string, b []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// syncDir makes a rename in dir durable where the platform supports it. It
// is best effort: the new file is already in place, and some systems cannot
// sync directories.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
