package stage

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// Role names an input or output of a stage, so that a front end can word
// an error about it in its own terms (the privatesnn command: a flag).
type Role string

// Roles of the stages' inputs and outputs.
const (
	RoleModel     Role = "model"     // the model a stage works on
	RoleANN       Role = "ann"       // the ANN an SNN is compared with or distilled from
	RoleBaseline  Role = "baseline"  // a model another is compared with, image by image
	RoleSynth     Role = "synth"     // a synthetic image set
	RoleEvaluator Role = "evaluator" // the independent scoring network of an audit
	RoleWeights   Role = "weights"   // a bare state_dict to import
	RoleData      Role = "data"      // a real data set
	RoleOut       Role = "out"       // the directory a stage writes
)

// Errors that describe what an input holds instead of what a stage needs.
// They reach callers inside an *InputError.
var (
	ErrSyntheticSet = errors.New("holds a synthetic image set, not a model")
	ErrModelNotSet  = errors.New("holds a model, not a synthetic image set")
)

// KindError is a model of another kind than the stage needs.
type KindError struct{ Have, Want modelfile.Kind }

func (e *KindError) Error() string { return "is " + KindName(e.Have) + ", want " + KindName(e.Want) }

// MismatchError is an input that does not fit the others, in words that
// follow its path ("is a different network (…) from the SNN's (…)").
type MismatchError struct{ Text string }

func (e *MismatchError) Error() string { return e.Text }

// mismatch returns a *MismatchError with the formatted text.
func mismatch(format string, args ...any) error {
	return &MismatchError{Text: fmt.Sprintf(format, args...)}
}

// InputError is an input of a stage that does not fit it: a mistake in
// what the caller named, not a failure of the stage. Err says what is
// wrong; errors.Is and errors.As see through it.
type InputError struct {
	Role Role
	Path string
	Err  error
}

func (e *InputError) Error() string {
	if e.Describes() {
		return e.Path + " " + e.Err.Error()
	}
	return e.Err.Error()
}

func (e *InputError) Unwrap() error { return e.Err }

// Describes reports whether Err is a phrase about the input ("is an ANN,
// want …"), to be read after its path, rather than an error that names
// its own file.
func (e *InputError) Describes() bool {
	var k *KindError
	var s *MismatchError
	var o *OtherANNError
	var d *OtherDataError
	return errors.As(e.Err, &k) || errors.As(e.Err, &s) || errors.As(e.Err, &o) || errors.As(e.Err, &d) ||
		errors.Is(e.Err, ErrSyntheticSet) || errors.Is(e.Err, ErrModelNotSet)
}

// inputErr wraps err as an *InputError of the role and path.
func inputErr(r Role, path string, err error) error {
	return &InputError{Role: r, Path: path, Err: err}
}

// KindName words a model kind: "an ANN", "a spiking network (SNN)".
func KindName(k modelfile.Kind) string {
	switch k {
	case modelfile.KindANN:
		return "an ANN"
	case modelfile.KindSNN:
		return "a spiking network (SNN)"
	}
	return string(k)
}

// Model is a model directory (or file pair) loaded with its card.
type Model struct {
	Path string
	Net  *vgg.Model
	Card *modelfile.Card
}

// LoadModel reads the model at path in the given role. A non-empty want
// refuses a model of the other kind. Every error is an *InputError; one
// of an interrupted run wraps modelfile.ErrInterrupted.
func LoadModel(path string, r Role, want modelfile.Kind) (*Model, error) {
	if _, err := os.Stat(filepath.Join(path, synth.ManifestFile)); err == nil {
		return nil, inputErr(r, path, ErrSyntheticSet)
	}
	c, err := modelfile.ReadCard(path)
	if err != nil {
		return nil, inputErr(r, path, err)
	}
	if want != "" && c.Kind != want {
		return nil, inputErr(r, path, &KindError{Have: c.Kind, Want: want})
	}
	m, c, err := modelfile.Load(path)
	if err != nil {
		return nil, inputErr(r, path, err)
	}
	return &Model{Path: path, Net: m, Card: c}, nil
}

// IsSNN reports whether the model is a spiking network.
func (m *Model) IsSNN() bool { return m.Card.SNN != nil }

// WeightsSHA256 returns the SHA-256 of the model's weights file: its
// card's, which loading checked against the file, or, for a card of an
// earlier version that records none, the file's own.
func (m *Model) WeightsSHA256() (string, error) {
	if d := m.Card.WeightsSHA256; d != "" {
		return d, nil
	}
	return modelfile.WeightsDigest(m.Path)
}

// Spiking returns the model's spiking network, with T replaced by
// timesteps when positive.
func (m *Model) Spiking(timesteps int) (*snn.Network, error) {
	if m.Card.SNN == nil {
		return nil, inputErr(RoleModel, m.Path, &KindError{Have: modelfile.KindANN, Want: modelfile.KindSNN})
	}
	cfg := m.Card.SNN.Config
	if timesteps > 0 {
		cfg.Timesteps = timesteps
	}
	net, err := snn.New(m.Net, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Path, err)
	}
	return net, nil
}

// Dataset returns the name of the data set the model was trained on (for
// an SNN: its ANN's), from its card or, for cards of earlier versions, its
// training set or its ANN's card; "" when none says.
func (m *Model) Dataset() string {
	if d := cardData(m.Card); d != "" {
		return d
	}
	if m.Card.Provenance.Parent != nil {
		if p, err := m.Card.Provenance.Parent.Resolve(m.Path); err == nil {
			if pc, err := modelfile.ReadCard(p); err == nil {
				return cardData(pc)
			}
		}
	}
	return ""
}

// DataFolder returns the image folder the model was trained on, as its
// card records it, from the working directory; "" when it records none or
// m is nil.
func (m *Model) DataFolder() string {
	if m == nil {
		return ""
	}
	return m.Card.DataFolder(m.Path)
}

// cardData returns the data set a card names.
func cardData(c *modelfile.Card) string {
	if c.Data != "" {
		return c.Data
	}
	if c.Kind == modelfile.KindANN {
		name, _, _ := strings.Cut(c.Provenance.Dataset, "/")
		return name
	}
	return ""
}

// maxLineage bounds the parents followed from a model to its ANN.
const maxLineage = 16

// AncestorANN follows the parent references from the model to the first
// ANN (the model itself when it is one) and returns its path. An SNN
// trained by Encrypt names the converted SNN as its parent; the ANN is
// further up.
func (m *Model) AncestorANN() (string, error) {
	path, c := m.Path, m.Card
	for hop := range maxLineage {
		if c.Kind == modelfile.KindANN {
			return path, nil
		}
		if c.Provenance.Parent == nil {
			return "", fmt.Errorf("%s names no parent model", path)
		}
		p, err := c.Provenance.Parent.Resolve(path)
		if err != nil {
			if hop == 0 {
				return "", err
			}
			return "", fmt.Errorf("the parent of %s: %w", path, err)
		}
		if c, err = modelfile.ReadCard(p); err != nil {
			return "", err
		}
		path = p
	}
	return "", fmt.Errorf("%s: more than %d models up to its ANN", path, maxLineage)
}

// SameShape reports whether two architectures have the same layers and
// input and output shapes.
func SameShape(a, b vgg.Config) bool {
	return slices.Equal(a.Features, b.Features) && slices.Equal(a.Hidden, b.Hidden) && a.Classes == b.Classes &&
		a.InChannels == b.InChannels && a.InHeight == b.InHeight && a.InWidth == b.InWidth
}

// CheckpointKind returns the kind of model the interrupted run in dir
// trains (KindSNN for an encryption run, else KindANN).
func CheckpointKind(dir string) modelfile.Kind {
	b, err := os.ReadFile(filepath.Join(dir, modelfile.CheckpointState))
	if err != nil {
		return modelfile.KindANN
	}
	var ck struct {
		Card struct {
			Kind modelfile.Kind `json:"kind"`
		} `json:"card"`
	}
	if json.Unmarshal(b, &ck) == nil && ck.Card.Kind == modelfile.KindSNN {
		return modelfile.KindSNN
	}
	return modelfile.KindANN
}
