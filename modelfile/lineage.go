package modelfile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Model kinds stored in Card.Kind.
const (
	KindANN Kind = "ann"
	KindSNN Kind = "snn"
)

// Ref points from an artifact to one it was made from. Path is relative to
// the directory of the referring artifact, so the two survive a move
// together; SHA256 is the digest of the referenced weights file, so a
// different model at that path is noticed.
type Ref struct {
	Path   string `json:"path"`
	SHA256 string `json:"weights_sha256"`
}

// UnmarshalJSON accepts a Ref object or, as cards of earlier versions wrote
// it, a bare path string (with no digest).
func (r *Ref) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*r = Ref{Path: s}
		return nil
	}
	type plain Ref
	return json.Unmarshal(b, (*plain)(r))
}

// Errors of Ref.Resolve.
var (
	// ErrRefMissing: nothing is at the referenced path.
	ErrRefMissing = errors.New("not found")
	// ErrRefChanged: the model at the referenced path has other weights.
	ErrRefChanged = errors.New("holds a different model (weights digest differs)")
)

// NewRef returns a reference from the artifact at from (a model directory or
// file, or an image set directory) to the model at target. The path is
// relative to the directory from lies in once symbolic links are resolved,
// as Resolve reads it.
func NewRef(from, target string) (*Ref, error) {
	sum, err := WeightsDigest(target)
	if err != nil {
		return nil, err
	}
	base, err := realPath(artifactDir(from))
	if err != nil {
		return nil, err
	}
	abs, err := realPath(target)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		rel = abs
	}
	return &Ref{Path: filepath.ToSlash(rel), SHA256: sum}, nil
}

// Resolve returns the referenced model's path as seen from the artifact at
// from, checking that it exists and, when the digest is recorded, that its
// weights are the ones referenced. A relative path is taken from the
// directory from lies in with symbolic links resolved (a linked model
// directory finds its parent beside its target, not beside the link). A
// relative path written by an earlier version (relative to the working
// directory, without digest) is tried as is when it is not found relative
// to from. Errors name the path tried and what the card records.
func (r *Ref) Resolve(from string) (string, error) {
	p := filepath.FromSlash(r.Path)
	base := linkTarget(artifactDir(from))
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	if _, err := os.Stat(p); err != nil && r.SHA256 == "" {
		if _, err2 := os.Stat(filepath.FromSlash(r.Path)); err2 == nil {
			p = filepath.FromSlash(r.Path)
		}
	}
	if _, err := os.Stat(p); err != nil {
		return p, fmt.Errorf("%s: %w (%s)", p, ErrRefMissing, r.recorded(from, base))
	}
	if r.SHA256 == "" {
		return p, nil
	}
	sum, err := WeightsDigest(p)
	if err != nil {
		return p, err
	}
	if sum != r.SHA256 {
		return p, fmt.Errorf("%s: %w", p, ErrRefChanged)
	}
	return p, nil
}

// recorded says what the card of the artifact at from, whose directory
// with links resolved is base, records: "runs/snn records \"../ann\"",
// "links/snn, a link to runs/snn, records \"../ann\"".
func (r *Ref) recorded(from, base string) string {
	s := from
	if dir := artifactDir(from); filepath.Clean(base) != filepath.Clean(dir) {
		s += ", a link to " + base + ","
	}
	s += fmt.Sprintf(" records %q", r.Path)
	if r.SHA256 == "" && !filepath.IsAbs(filepath.FromSlash(r.Path)) {
		s += "; also tried from the working directory"
	}
	return s
}

// linkTarget returns dir with symbolic links resolved (relative when dir
// is), or dir when that fails.
func linkTarget(dir string) string {
	if t, err := filepath.EvalSymlinks(dir); err == nil {
		return t
	}
	return dir
}

// realPath returns the absolute path of p with symbolic links resolved; a
// p that does not exist yet (an output directory) is resolved through its
// parent.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if t, err := filepath.EvalSymlinks(abs); err == nil {
		return t, nil
	}
	if t, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(t, filepath.Base(abs)), nil
	}
	return abs, nil
}

// SetDataFolder records dir, the image folder of the model whose
// directory is (or will be) at path, relative to that directory as
// NewRef writes references; "" records none.
func (c *Card) SetDataFolder(path, dir string) error {
	c.DataDir = ""
	if dir == "" {
		return nil
	}
	base, err := realPath(artifactDir(path))
	if err != nil {
		return err
	}
	abs, err := realPath(dir)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		rel = abs
	}
	c.DataDir = filepath.ToSlash(rel)
	return nil
}

// DataFolder returns the image folder c records for the model at path,
// as a path usable from the working directory (a relative record is taken
// from the model's directory with links resolved, as Resolve does); ""
// when c records none.
func (c *Card) DataFolder(path string) string {
	if c.DataDir == "" {
		return ""
	}
	p := filepath.FromSlash(c.DataDir)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(linkTarget(artifactDir(path)), p)
}

// WeightsDigest returns the hex SHA-256 of the weights file of the model at
// path (a directory or either file).
func WeightsDigest(path string) (string, error) {
	wp, _ := paths(path)
	f, err := os.Open(wp)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", wp, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", wp, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// artifactDir returns the directory holding the artifact at p: p itself if
// it is a directory (or does not exist yet), else its parent.
func artifactDir(p string) string {
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return filepath.Dir(p)
	}
	return p
}
