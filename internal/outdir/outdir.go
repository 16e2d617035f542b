// Package outdir guards the directories privatesnn's writers fill. Every
// kind of artifact is marked by one record file (a model's card, an
// interrupted run's checkpoint, a synthetic set's manifest, an attack's or
// an audit's record); a directory holds one kind, and a writer replaces
// only the files that the record of an earlier artifact of its kind lists.
// Anything else in a directory is the user's and is left alone.
//
// # Error handling
//
// A directory a writer must not fill is an *Error, whose text follows the
// directory's path ("runs/x holds a model, not an audit").
package outdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Kind is a kind of artifact directory.
type Kind int

// The kinds of artifact directory.
const (
	Model     Kind = iota // a model: weights and card
	Run                   // an interrupted training run: a checkpoint
	Synthetic             // a synthetic image set
	Attack                // an attack's images and record
	Audit                 // an audit's images, table and record
)

var kinds = [...]struct{ record, noun, article string }{
	Model:     {"model.json", "model", "a"},
	Run:       {"checkpoint.json", "interrupted training run", "an"},
	Synthetic: {"manifest.json", "synthetic image set", "a"},
	Attack:    {"attack.json", "attack", "an"},
	Audit:     {"audit.json", "audit", "an"},
}

// Record returns the name of the file that marks a directory holding the
// kind.
func (k Kind) Record() string { return kinds[k].record }

// String words the kind with its article: "a model", "an attack".
func (k Kind) String() string { return kinds[k].article + " " + kinds[k].noun }

// Error is a directory that a writer refuses to fill.
type Error struct {
	Dir string
	// Reason follows the path: "is a file, not a directory".
	Reason string
}

func (e *Error) Error() string { return e.Dir + " " + e.Reason }

// Check refuses, as an *Error, a dir that exists but is not a directory,
// one that lies under a file, and, when kinds are accepted (the kind the
// writer writes first), one that holds the record of another kind of
// artifact. A dir that does not exist passes.
func Check(dir string, accept ...Kind) error {
	st, err := os.Stat(dir)
	if err != nil {
		return checkAbsent(dir, err)
	}
	if !st.IsDir() {
		return &Error{Dir: dir, Reason: "is a file, not a directory"}
	}
	if len(accept) == 0 {
		return nil
	}
	for k := range kinds {
		if slices.Contains(accept, Kind(k)) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, kinds[k].record)); err == nil {
			return &Error{Dir: dir, Reason: fmt.Sprintf("holds %s, not %s", Kind(k), accept[0])}
		}
	}
	return nil
}

// checkAbsent refuses a dir that Stat could not find because a directory
// above it is a file.
func checkAbsent(dir string, statErr error) error {
	for p := filepath.Dir(filepath.Clean(dir)); ; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil {
			if !st.IsDir() {
				return &Error{Dir: dir, Reason: fmt.Sprintf("lies under %s, a file, not a directory", p)}
			}
			break
		}
		if filepath.Dir(p) == p {
			break
		}
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("%s: %w", dir, statErr)
}

// Foreign refuses, as an *Error, the files of planned (paths relative to
// dir, the files a writer of kind k is about to write) that exist in dir
// but are not in recorded, the files that an earlier artifact's record
// lists: they are the user's, whatever their names.
func Foreign(dir string, k Kind, planned, recorded []string) error {
	var found []string
	for _, f := range planned {
		if slices.Contains(recorded, f) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		return nil
	case 1:
		return &Error{Dir: dir, Reason: fmt.Sprintf("holds %s, which no %s's %s there lists", found[0], kinds[k].noun, kinds[k].record)}
	}
	return &Error{Dir: dir, Reason: fmt.Sprintf("holds %s and %d more files that no %s's %s there lists", found[0], len(found)-1, kinds[k].noun, kinds[k].record)}
}

// RemoveStale removes the files of recorded (paths relative to dir, as an
// earlier artifact's record lists them) that are not in planned, and then
// the directories below dir that this leaves empty. Paths that are not
// local to dir are skipped.
func RemoveStale(dir string, recorded, planned []string) error {
	var dirs []string
	for _, f := range recorded {
		if !filepath.IsLocal(f) || slices.Contains(planned, f) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		for d := filepath.Dir(filepath.Clean(f)); d != "."; d = filepath.Dir(d) {
			dirs = append(dirs, d)
		}
	}
	// Deepest first, so that a parent is tried after its children.
	slices.SortFunc(dirs, func(a, b string) int {
		if d := strings.Count(b, string(filepath.Separator)) - strings.Count(a, string(filepath.Separator)); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	for _, d := range slices.Compact(dirs) {
		os.Remove(filepath.Join(dir, d)) // only succeeds when empty
	}
	return nil
}

// Empty reports whether dir does not exist or is an empty directory (not
// a link to one): a new artifact can be written as a whole elsewhere and
// renamed into its place (Temp, Install).
func Empty(dir string) bool {
	st, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil || !st.IsDir() {
		return false
	}
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	return len(names) == 0 && errors.Is(err, io.EOF)
}

// Temp creates an empty temporary directory (mode 0755) beside dir,
// creating dir's parent if needed; the caller removes it.
func Temp(dir string) (string, error) {
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(filepath.Clean(dir))+".tmp-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// Install renames the directory tmp (from Temp) to dir, which must be
// Empty: an empty dir is removed first. An interruption leaves dir absent,
// empty or whole, never partial.
func Install(tmp, dir string) error {
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Rename(tmp, dir)
}

// Replace writes an artifact into dir with write: a dir that is Empty gets
// it whole, written into a temporary sibling renamed into place; into any
// other dir write writes after RemoveStale has removed the files of
// recorded (the earlier artifact's) that are not planned (the new one's).
func Replace(dir string, recorded, planned []string, write func(dir string) error) error {
	if !Empty(dir) {
		if err := RemoveStale(dir, recorded, planned); err != nil {
			return err
		}
		return write(dir)
	}
	tmp, err := Temp(dir)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // empty after a successful move
	if err := write(tmp); err != nil {
		return err
	}
	return Install(tmp, dir)
}
