package hdf5

import (
	"fmt"
	"io"
	"os"

	"github.com/privatesnn/privatesnn/internal/atomicfile"
)

// fileMargin is how far a file may exceed Limits.MaxBytes before ReadFile
// refuses it: room for metadata around the values.
const fileMargin = 64 << 20

// ReadFile reads the file at path and decodes it (see Decode). It refuses,
// before reading them, files larger than lim.MaxBytes plus 64 MiB.
func ReadFile(path string, lim Limits) (*Group, error) {
	lim = lim.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hdf5: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("hdf5: %w", err)
	}
	maxSize := lim.MaxBytes + fileMargin
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: hdf5: not a regular file", path)
	}
	if st.Size() > maxSize {
		return nil, fmt.Errorf("read %s: %w", path, errorf(ErrLimit, "hdf5: file of %d bytes exceeds Limits.MaxBytes + %d", st.Size(), fileMargin))
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: hdf5: %w", path, err)
	}
	if int64(len(b)) > maxSize {
		return nil, fmt.Errorf("read %s: %w", path, errorf(ErrLimit, "hdf5: file grew beyond Limits.MaxBytes + %d", fileMargin))
	}
	g, err := Decode(b, lim)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return g, nil
}

// WriteFile encodes root (see Encode) and stores it at path atomically: the
// bytes go to a temporary file in the same directory, which is synced and
// renamed over path, so a failure leaves an existing file untouched. A new
// file gets mode 0644; a replaced file keeps its mode.
func WriteFile(path string, root *Group) error {
	b, err := Encode(root)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, b); err != nil {
		return fmt.Errorf("hdf5: %w", err)
	}
	return nil
}
