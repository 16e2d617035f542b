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
// file, or an image set directory) to the model at target.
func NewRef(from, target string) (*Ref, error) {
	sum, err := WeightsDigest(target)
	if err != nil {
		return nil, err
	}
	base, err := filepath.Abs(artifactDir(from))
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(target)
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
// weights are the ones referenced. A relative path written by an earlier
// version (relative to the working directory, without digest) is tried as
// is when it is not found relative to from.
func (r *Ref) Resolve(from string) (string, error) {
	p := filepath.FromSlash(r.Path)
	if !filepath.IsAbs(p) {
		p = filepath.Join(artifactDir(from), p)
	}
	if _, err := os.Stat(p); err != nil && r.SHA256 == "" {
		if _, err2 := os.Stat(filepath.FromSlash(r.Path)); err2 == nil {
			p = filepath.FromSlash(r.Path)
		}
	}
	if _, err := os.Stat(p); err != nil {
		return p, fmt.Errorf("%s: %w", p, ErrRefMissing)
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
