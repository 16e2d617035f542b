package stage

import (
	"fmt"
	"path/filepath"
	"strings"
)

// OutError is an output directory that would overwrite an input of its
// stage, or lie inside one.
type OutError struct {
	Out, Input string
	// Inside is true when Out lies inside Input, false when Out is Input
	// or holds it.
	Inside bool
}

func (e *OutError) Error() string {
	if e.Inside {
		return fmt.Sprintf("%s is inside the input %s", e.Out, e.Input)
	}
	return fmt.Sprintf("%s would hold the input %s", e.Out, e.Input)
}

// CheckOut refuses an output directory that is, or lies inside or
// contains, one of the inputs: replacing it could destroy what the stage
// reads. Empty inputs are skipped, and so are inputs that do not exist
// (they fail later with their own error).
func CheckOut(out string, inputs ...string) error {
	o, err := canonical(out)
	if err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		i, err := canonical(in)
		if err != nil {
			continue
		}
		if o == i || within(i, o) {
			return &OutError{Out: out, Input: in}
		}
		if within(o, i) {
			return &OutError{Out: out, Input: in, Inside: true}
		}
	}
	return nil
}

// canonical returns p as an absolute path with symbolic links resolved as
// far as p exists.
func canonical(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for dir := abs; ; dir = filepath.Dir(dir) {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest), nil
		}
		if filepath.Dir(dir) == dir {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

// within reports whether path p lies strictly inside dir.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
