package stage

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/privatesnn/privatesnn/internal/outdir"
	"github.com/privatesnn/privatesnn/modelfile"
)

// OutError is an output directory that would overwrite an input of its
// stage, or lie inside one.
type OutError struct {
	Out, Input string
	// Inside is true when Out lies inside Input, false when Out is Input
	// or holds it.
	Inside bool
	// Via says how the stage finds an input its caller did not name
	// ("found through the card of runs/snn"); empty for a named one.
	Via string
}

func (e *OutError) Error() string {
	s := fmt.Sprintf("%s would hold the input %s", e.Out, e.Input)
	if e.Inside {
		s = fmt.Sprintf("%s is inside the input %s", e.Out, e.Input)
	}
	if e.Via != "" {
		s += " (" + e.Via + ")"
	}
	return s
}

// DirError is an output directory a stage refuses to fill: a file, a
// directory holding another kind of artifact, or one holding a file the
// stage would write that no earlier record there lists. Its text follows
// the directory's path.
type DirError = outdir.Error

// CheckOut refuses an output directory that is, or lies inside or
// contains, one of the inputs (an *OutError): replacing it could destroy
// what the stage reads; and one that is a file or lies under one (a
// *DirError). Empty inputs are skipped; an input that does not exist
// yet (a data directory to be created) is compared as named.
func CheckOut(out string, inputs ...string) error {
	in := make([]input, len(inputs))
	for i, p := range inputs {
		in[i] = input{path: p}
	}
	return checkOut(out, in)
}

// input is a path a stage reads: named by its caller, or found through
// the card of another input (via says so).
type input struct{ path, via string }

// checkOut is CheckOut of inputs that may have been found through cards.
func checkOut(out string, inputs []input) error {
	o, err := canonical(out)
	if err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	for _, in := range inputs {
		if in.path == "" {
			continue
		}
		i, err := canonical(in.path)
		if err != nil {
			continue
		}
		if o == i || within(i, o) {
			return &OutError{Out: out, Input: in.path, Via: in.via}
		}
		if within(o, i) {
			return &OutError{Out: out, Input: in.path, Inside: true, Via: in.via}
		}
	}
	return outdir.Check(out)
}

// checkOutput refuses, before a stage's work, an Out it must not write
// (see CheckOut) and one that holds another kind of artifact than kinds,
// the stage's (a *DirError).
func checkOutput(out string, kinds []outdir.Kind, inputs ...[]input) error {
	if err := checkOut(out, slices.Concat(inputs...)); err != nil {
		return err
	}
	return outdir.Check(out, kinds...)
}

// checkModelOut refuses, before the work of a stage that writes a model,
// an Out it must not write (see CheckOut) and one modelfile.Save would
// refuse (a *DirError).
func checkModelOut(out string, inputs ...[]input) error {
	if err := checkOut(out, slices.Concat(inputs...)); err != nil {
		return err
	}
	return modelfile.CheckDir(out)
}

// modelInputs returns the model and the models its parents lead to,
// found through their cards (an SNN's ANN, an encrypted SNN's converted
// SNN and its ANN): a stage reads them to find the ANN, its data set or
// its weights.
func modelInputs(m *Model) []input {
	if m == nil {
		return nil
	}
	in := []input{{path: m.Path}}
	path, c := m.Path, m.Card
	for range maxLineage {
		if c == nil || c.Provenance.Parent == nil {
			break
		}
		p, err := c.Provenance.Parent.Resolve(path)
		if p == "" {
			break
		}
		in = append(in, input{path: p, via: "found through the card of " + path})
		if err != nil {
			break
		}
		if c, err = modelfile.ReadCard(p); err != nil {
			break
		}
		path = p
	}
	return in
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
