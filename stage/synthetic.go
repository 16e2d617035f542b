package stage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/synth"
)

// Synthetic is a synthetic image set loaded from a directory (or a bare
// binary file) with its manifest, when it has one.
type Synthetic struct {
	Path     string
	Set      *synth.Set
	Manifest *synth.Manifest // nil for a bare binary file
}

// OtherANNError is a synthetic set whose manifest names another ANN than
// the one it is used with: Made is the ANN it was made from, as recorded.
type OtherANNError struct{ Made string }

func (e *OtherANNError) Error() string {
	return fmt.Sprintf("was synthesised from another ANN (%s)", e.Made)
}

// LoadSynthetic reads the synthetic image set at path. Every error is an
// *InputError of RoleSynth.
func LoadSynthetic(path string) (*Synthetic, error) {
	if _, e := modelfile.ReadCard(path); e == nil || errors.Is(e, modelfile.ErrInterrupted) {
		return nil, inputErr(RoleSynth, path, ErrModelNotSet)
	}
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	man, err := synth.ReadManifest(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, inputErr(RoleSynth, path, err)
	}
	set, err := synth.Load(path)
	if err != nil {
		return nil, inputErr(RoleSynth, path, fmt.Errorf("read synthetic set: %w", err))
	}
	return &Synthetic{Path: path, Set: set, Manifest: man}, nil
}

// CheckMadeFrom reports, as an *InputError holding an *OtherANNError,
// when the set's manifest records the weights digest of another ANN than
// ann's, or, for a QCFS ANN, than the ANN it was fine-tuned from. A set
// without a recorded digest cannot be checked and passes.
func (s *Synthetic) CheckMadeFrom(ann *Model) error {
	if s.Manifest == nil || s.Manifest.ModelSHA256 == "" {
		return nil
	}
	if q := ann.Card.Quantisation; q != nil && q.ParentSHA256 == s.Manifest.ModelSHA256 {
		return nil
	}
	digest, err := modelfile.WeightsDigest(ann.Path)
	if err != nil {
		return err
	}
	if digest != s.Manifest.ModelSHA256 {
		return inputErr(RoleSynth, s.Path, &OtherANNError{Made: s.Manifest.Model})
	}
	return nil
}

// checkFits reports, as an *InputError of RoleSynth, a set whose images
// or classes do not fit the model.
func (s *Synthetic) checkFits(m *Model) error {
	set, mc := s.Set, m.Net.Config
	if set.Channels != mc.InChannels || set.Height != mc.InHeight || set.Width != mc.InWidth || set.Classes != mc.Classes {
		return inputErr(RoleSynth, s.Path, mismatch("holds %d×%d×%d images in %d classes; model %s reads %d×%d×%d images into %d",
			set.Channels, set.Height, set.Width, set.Classes, mc.Name, mc.InChannels, mc.InHeight, mc.InWidth, mc.Classes))
	}
	return nil
}
