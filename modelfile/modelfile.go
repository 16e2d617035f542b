// Package modelfile stores privatesnn models: weights in a safetensors file
// with PyTorch's state_dict names, and beside it a JSON model card that fully
// describes the architecture, normalisation, classes, seed, metrics and
// provenance. Training checkpoints add the optimiser state.
//
// # Overview
//
// A model directory holds model.safetensors and model.json. Save writes both
// atomically (temp file + rename), weights first, so a reader never sees a
// card without its weights. Load accepts the directory or either file path.
// LoadWeights copies a safetensors file into a built model, checking every
// name and shape, which is how a PyTorch-trained VGG with the reference's
// layout is imported.
//
// # Error handling
//
// Every failure returns an error naming the file. Corrupt or hostile files
// never panic: the card is validated (architecture limits as in
// vgg.Config.Validate) before any network is allocated.
//
// # Concurrency
//
// Functions are safe for concurrent use on different paths.
package modelfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/internal/atomicfile"
	"github.com/privatesnn/privatesnn/internal/outdir"
	"github.com/privatesnn/privatesnn/safetensors"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Format is the card format identifier written by this version.
const Format = "privatesnn.model/v1"

// File names inside a model directory.
const (
	WeightsFile = "model.safetensors"
	CardFile    = "model.json"
)

// maxCardBytes bounds the JSON card read from disk.
const maxCardBytes = 16 << 20

// Provenance records where a model came from.
type Provenance struct {
	// Dataset names the data the model was trained on ("fashion-mnist/train").
	Dataset string `json:"dataset,omitempty"`
	// TrainingDataAccessed is false for artifacts produced without reading
	// any real data set (synthesis, data-free conversion).
	TrainingDataAccessed bool `json:"training_data_accessed"`
	// Imported is the file an imported model's weights were read from
	// (ImportStateDict); its training happened elsewhere, on real data.
	Imported string `json:"imported,omitempty"`
	// ImportedNIR is the NIR file an imported model was read from. A NIR
	// export leaves it out of the card it embeds, so that export, import
	// and export again give the same file.
	ImportedNIR string `json:"imported_nir,omitempty"`
	// PoolPositions says, for an imported model, how the pool positions
	// of its features list were checked, or that they could not be.
	PoolPositions string `json:"pool_positions,omitempty"`
	// Parent is the model this one was derived from, if any.
	Parent *Ref `json:"parent,omitempty"`
	// Software is the producing program and version.
	Software string `json:"software"`
}

// Card is the JSON model card.
type Card struct {
	Format string `json:"format"`
	Kind   Kind   `json:"kind"` // KindANN or KindSNN
	// WeightsSHA256 is the hex SHA-256 of the weights file Save wrote
	// beside the card; Load refuses weights with another digest
	// (ErrWeightsChanged). Empty in cards of earlier versions, whose
	// weights are not checked.
	WeightsSHA256 string                 `json:"weights_sha256,omitempty"`
	Model         vgg.Config             `json:"model"`
	Normalization imageset.Normalization `json:"normalization"`
	ClassNames    []string               `json:"class_names"`
	// Data names the data set the model was trained on, as the --data
	// flag names it (for example "fashion-mnist" or "embedded"); an SNN
	// inherits it from its ANN. Empty in cards of earlier versions.
	Data string `json:"data,omitempty"`
	// DataDir is, when Data is "folder", the image folder's directory,
	// relative to the model's directory (with links resolved) or absolute;
	// SetDataFolder writes it, DataFolder reads it. An SNN records its
	// ANN's folder relative to its own directory.
	DataDir    string             `json:"data_dir,omitempty"`
	Seed       uint64             `json:"seed"`
	Metrics    map[string]float64 `json:"metrics,omitempty"`
	Training   json.RawMessage    `json:"training,omitempty"` // recipe and per-epoch history
	Provenance Provenance         `json:"provenance"`
	// SNN holds the spiking parameters of a converted model (kind KindSNN).
	SNN *SNNSpec `json:"snn,omitempty"`
	// Quantisation records the data-free quantisation-aware fine-tuning
	// that made a QCFS ANN (Model.Levels > 0) from its parent ANN.
	Quantisation *Quantisation `json:"quantisation,omitempty"`
}

// Quantisation records how a QCFS ANN was made from a ReLU ANN (package
// qcfs): its levels and clips, the synthetic images it was distilled on,
// and the digest of the parent's weights, which a synthetic set made from
// the parent is checked against.
type Quantisation struct {
	Levels       int       `json:"levels"`
	Clips        []float32 `json:"clips"`
	Source       string    `json:"source"` // "synthetic:" and the set's path
	ParentSHA256 string    `json:"parent_sha256"`
	// Epochs of distillation run (0: the clips alone were set) and Kept,
	// the epoch whose weights were kept (0: those before training).
	Epochs int `json:"epochs"`
	Kept   int `json:"kept"`
	// Training holds the run's options and per-epoch history.
	Training json.RawMessage `json:"training,omitempty"`
}

// SNNSpec describes a spiking model: its simulation parameters and how its
// thresholds were obtained.
type SNNSpec struct {
	snn.Config
	Calibration Calibration `json:"calibration"`
	// Encryption records the class-encryption training that produced the
	// weights; nil for a network straight from conversion.
	Encryption *Encryption `json:"encryption,omitempty"`
}

// Encryption records a class-encryption training (CET) run: surrogate-
// gradient training of a converted network on synthetic images, with or
// without on-device distillation (OD) from its ANN.
type Encryption struct {
	Recipe string `json:"recipe"` // RecipeCET or RecipeCETOD
	// Labels names the hard labels of the cross-entropy term: "target"
	// (the argmax of the soft label an image was synthesised towards) or
	// "folder" (its class folder).
	Labels string `json:"labels,omitempty"`
	// LogitScale is how the summed output potential S became logits κ·S
	// ("sum", "mean" or "match"), and Kappa the κ used.
	LogitScale string  `json:"logit_scale"`
	Kappa      float64 `json:"kappa"`
	Epochs     int     `json:"epochs"`
	PerClass   int     `json:"per_class"` // synthetic training images per class
	Images     int     `json:"images"`
	Source     string  `json:"source"` // the synthetic set, e.g. "synthetic:runs/synth"
	Seed       uint64  `json:"seed"`
	// Teacher is the ANN distilled from (RecipeCETOD) or that fixed κ.
	Teacher *Ref `json:"teacher,omitempty"`
	// Defenses names the inversion defences trained with and their
	// strengths ("nls α=-0.2, trapdoor ρ=0.1 β=0.3"); empty for none. The
	// training record holds their full settings.
	Defenses string `json:"defenses,omitempty"`
	// WeightChange is ‖W − W₀‖/‖W₀‖ per weight, W₀ the converted weights.
	WeightChange []WeightChange `json:"weight_change,omitempty"`
}

// WeightChange is how far training moved one weight tensor.
type WeightChange struct {
	Name     string  `json:"name"`
	Relative float64 `json:"relative"`
}

// Encryption recipes.
const (
	RecipeCET   = "cet"    // cross-entropy only
	RecipeCETOD = "cet+od" // with on-device distillation
)

func (e *Encryption) validate() error {
	if e.Recipe != RecipeCET && e.Recipe != RecipeCETOD {
		return fmt.Errorf("unknown encryption recipe %q (%q or %q)", e.Recipe, RecipeCET, RecipeCETOD)
	}
	if !(e.Kappa > 0) || e.Epochs < 0 || e.PerClass < 0 || e.Images < 0 {
		return fmt.Errorf("encryption record: κ %g must be positive, epochs %d, per class %d and images %d ≥ 0", e.Kappa, e.Epochs, e.PerClass, e.Images)
	}
	return nil
}

// Calibration records how thresholds were set.
type Calibration struct {
	Method     CalibrationMethod `json:"method"`               // MaxCurrent or PercentileCurrent
	Percentile float64           `json:"percentile,omitempty"` // for percentile-current
	Scale      float64           `json:"scale"`
	Images     int               `json:"images"` // calibration images (per layer pass when PerPass)
	Source     string            `json:"source"` // what the calibration images were, e.g. "synthetic:runs/synth"
	Seed       uint64            `json:"seed"`
	// Recipe names how the settings were chosen: RecipePaper (fixed
	// settings, the reference's procedure) or RecipeSelected (chosen
	// without data among candidates, see Selection). Cards written before
	// recipes were recorded leave it empty.
	Recipe string `json:"recipe,omitempty"`
	// Pool is how many images the calibration images were drawn from.
	Pool int `json:"pool,omitempty"`
	// CropPad and Flip describe the augmentation of the calibration
	// images (random crop with this padding, filled with black; random
	// horizontal flip).
	CropPad int  `json:"crop_pad,omitempty"`
	Flip    bool `json:"flip,omitempty"`
	// PerPass records that the images were redrawn and re-augmented for
	// every layer's pass of the threshold search, as the reference does.
	PerPass bool `json:"per_pass,omitempty"`
	// Staged records a search that drew the input once and resumed each
	// layer's pass from the previous one's spikes.
	Staged bool `json:"staged,omitempty"`
	// Selection lists the candidate settings scored on held-out synthetic
	// images and the one chosen (recipe "selected").
	Selection *convert.Selection `json:"selection,omitempty"`
	// Correction records the per-channel potential correction, when one
	// ran (the corrected membranes are the SNN's ChannelInit).
	Correction *convert.Correction `json:"correction,omitempty"`
}

// Calibration recipes.
const (
	RecipePaper    = "paper"
	RecipeSelected = "selected"
)

// validate checks the recorded recipe against the spiking configuration.
func (c *Calibration) validate(cfg snn.Config) error {
	switch c.Recipe {
	case "", RecipePaper:
		if c.Selection != nil {
			return fmt.Errorf("calibration recipe %q with a selection record (want %q)", c.Recipe, RecipeSelected)
		}
	case RecipeSelected:
		s := c.Selection
		if s == nil {
			return fmt.Errorf("calibration recipe %q without its selection record", c.Recipe)
		}
		if s.Chosen < 0 || s.Chosen >= len(s.Candidates) {
			return fmt.Errorf("selection chose candidate %d of %d", s.Chosen, len(s.Candidates))
		}
		if s.Timesteps != cfg.Timesteps {
			return fmt.Errorf("selection made for T=%d, network has T=%d", s.Timesteps, cfg.Timesteps)
		}
		ch := s.Candidates[s.Chosen]
		if ch.Encoder != cfg.Encoder || ch.InitMembrane != cfg.InitMembrane || ch.Percentile != c.Percentile ||
			ch.Activations != (c.Method == PercentileActivation) || ch.Clips != (c.Method == QCFSClips) {
			return fmt.Errorf("selected candidate %+v does not match the network (encoder %v, initial membrane %g, percentile %g)",
				ch.Candidate, cfg.Encoder, cfg.InitMembrane, c.Percentile)
		}
	default:
		return fmt.Errorf("unknown calibration recipe %q (%q or %q)", c.Recipe, RecipePaper, RecipeSelected)
	}
	if c.CropPad < 0 || c.Pool < 0 || c.Images < 0 {
		return fmt.Errorf("calibration crop padding %d, pool %d, images %d: want ≥ 0", c.CropPad, c.Pool, c.Images)
	}
	return nil
}

// Validate checks a card read from a file.
func (c *Card) Validate() error {
	if c.Format != Format {
		return fmt.Errorf("unsupported card format %q (want %q)", c.Format, Format)
	}
	if err := c.Model.Validate(); err != nil {
		return err
	}
	switch c.Kind {
	case KindANN:
		if c.SNN != nil {
			return fmt.Errorf("an ANN card has spiking parameters")
		}
		if q := c.Quantisation; q != nil && (q.Levels != c.Model.Levels || len(q.Clips) != spikingLayers(c.Model)) {
			return fmt.Errorf("quantisation record of %d levels and %d clips for a model of %d levels and %d hidden layers",
				q.Levels, len(q.Clips), c.Model.Levels, spikingLayers(c.Model))
		}
	case KindSNN:
		if c.SNN == nil {
			return fmt.Errorf("an SNN card lacks its spiking parameters")
		}
		if c.Model.Levels != 0 || c.Quantisation != nil {
			return fmt.Errorf("an SNN card has QCFS activations (levels %d); its clips belong in its thresholds", c.Model.Levels)
		}
		if err := c.SNN.Config.Validate(spikingLayers(c.Model)); err != nil {
			return err
		}
		if err := c.SNN.Calibration.validate(c.SNN.Config); err != nil {
			return err
		}
		if e := c.SNN.Encryption; e != nil {
			if err := e.validate(); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unsupported model kind %q", c.Kind)
	}
	if c.Model.NumParamsEstimate() > maxParams {
		return fmt.Errorf("model %s has %d parameters, more than the %d this version loads", c.Model.Name, c.Model.NumParamsEstimate(), maxParams)
	}
	if !(c.Normalization.Std > 0) {
		return fmt.Errorf("normalization std %g must be positive", c.Normalization.Std)
	}
	if len(c.ClassNames) != 0 && len(c.ClassNames) != c.Model.Classes {
		return fmt.Errorf("%d class names for %d classes", len(c.ClassNames), c.Model.Classes)
	}
	return nil
}

// maxParams bounds the size of a model Load will allocate (1 G weights, 4 GiB).
const maxParams = 1 << 30

// paths resolves a directory or a file path into the two file paths.
func paths(p string) (weights, card string) {
	switch {
	case strings.HasSuffix(p, ".safetensors"):
		return p, strings.TrimSuffix(p, ".safetensors") + ".json"
	case strings.HasSuffix(p, ".json"):
		return strings.TrimSuffix(p, ".json") + ".safetensors", p
	}
	return filepath.Join(p, WeightsFile), filepath.Join(p, CardFile)
}

func spikingLayers(c vgg.Config) int {
	n := len(c.Hidden)
	for _, it := range c.Features {
		if it != vgg.Pool {
			n++
		}
	}
	return n
}

// CheckDir refuses, as an *outdir.Error, a dir Save must not write into:
// a file, a directory holding another kind of artifact than a model or an
// interrupted training run (a synthetic set, an attack, an audit), and
// one holding a WeightsFile that is no model's: without a card or a
// checkpoint beside it.
func CheckDir(dir string) error {
	if err := outdir.Check(dir, outdir.Model, outdir.Run); err != nil {
		return err
	}
	var recorded []string
	for _, record := range []string{CardFile, CheckpointState} {
		if _, err := os.Stat(filepath.Join(dir, record)); err == nil {
			recorded = []string{WeightsFile, CardFile}
		}
	}
	return outdir.Foreign(dir, outdir.Model, []string{WeightsFile, CardFile}, recorded)
}

// Save writes m's weights and card into dir (created if needed). The card's
// kind is KindSNN when c.SNN is set, else KindANN. A dir that CheckDir
// refuses is refused.
func Save(dir string, m *vgg.Model, c Card) error {
	if err := CheckDir(dir); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	c.Format, c.Kind, c.Model = Format, KindANN, m.Config
	if c.SNN != nil {
		c.Kind = KindSNN
		if err := c.SNN.Config.Validate(snn.SpikingLayers(m)); err != nil {
			return fmt.Errorf("save model: %w", err)
		}
		if err := c.SNN.Calibration.validate(c.SNN.Config); err != nil {
			return fmt.Errorf("save model: %w", err)
		}
		if e := c.SNN.Encryption; e != nil {
			if err := e.validate(); err != nil {
				return fmt.Errorf("save model: %w", err)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	wp, cp := paths(dir)
	h := sha256.New()
	f := weightsFile(m, map[string]string{"format": Format})
	if err := atomicfile.Write(wp, func(w io.Writer) error { return safetensors.Encode(io.MultiWriter(w, h), f) }); err != nil {
		return fmt.Errorf("save model: safetensors: %w", err)
	}
	c.WeightsSHA256 = hex.EncodeToString(h.Sum(nil))
	return writeJSON(cp, c)
}

func weightsFile(m *vgg.Model, meta map[string]string) *safetensors.File {
	f := &safetensors.File{Metadata: meta}
	for _, p := range m.Params() {
		f.Tensors = append(f.Tensors, safetensors.Tensor{Name: p.Name, Shape: append([]int(nil), p.W.Shape...), Data: p.W.Data})
	}
	return f
}

// writeJSON writes v as indented JSON atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return WriteFileAtomic(path, append(b, '\n'))
}

// WriteFileAtomic writes b to path through a temporary file in the same
// directory and a rename, so path holds either its old or its new content.
// A new file gets mode 0644.
func WriteFileAtomic(path string, b []byte) error { return atomicfile.WriteFile(path, b) }

// ErrInterrupted reports a run directory that holds only a training
// checkpoint: training was interrupted before it saved the model.
var ErrInterrupted = errors.New("holds only a training checkpoint (an interrupted run), no model yet")

// ErrNoCard reports a weights file without the model card beside it: a
// bare state_dict, which ImportStateDict turns into a model.
var ErrNoCard = errors.New("a bare state_dict, not a model")

// ReadCard reads and validates the card of a model path.
func ReadCard(path string) (*Card, error) {
	wp, cp := paths(path)
	b, err := readLimited(cp, maxCardBytes)
	if errors.Is(err, fs.ErrNotExist) {
		if _, e := os.Stat(filepath.Join(filepath.Dir(cp), CheckpointState)); e == nil {
			return nil, fmt.Errorf("%s %w", filepath.Dir(cp), ErrInterrupted)
		}
		if st, e := os.Stat(wp); e == nil && st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s has no model card %s: %w", wp, cp, ErrNoCard)
		}
	}
	if err != nil {
		return nil, err
	}
	return DecodeCard(b, cp)
}

// DecodeCard parses and validates card JSON; name is used in errors.
func DecodeCard(b []byte, name string) (*Card, error) {
	var c Card
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("read %s: trailing data after the card", name)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return &c, nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// ErrWeightsChanged reports a weights file whose digest differs from the
// one its card records: the weights were changed, or replaced, after Save
// wrote them.
var ErrWeightsChanged = errors.New("the weights changed since the card was written")

// CheckWeights compares the digest of the weights file of the model at
// path with the one its card c records, and returns the digest. A card of
// an earlier version records none: nothing to compare.
func CheckWeights(path string, c *Card) (string, error) {
	sum, err := WeightsDigest(path)
	if err != nil || c.WeightsSHA256 == "" || sum == c.WeightsSHA256 {
		return sum, err
	}
	wp, cp := paths(path)
	return sum, fmt.Errorf("read %s: %w: its SHA-256 is %s, %s records %s", wp, ErrWeightsChanged, sum, filepath.Base(cp), c.WeightsSHA256)
}

// Load reads a model saved by Save. path is the directory or either file.
// When the card records the weights' digest, weights with another digest
// are refused (ErrWeightsChanged).
func Load(path string) (*vgg.Model, *Card, error) {
	c, err := ReadCard(path)
	if err != nil {
		return nil, nil, err
	}
	if c.WeightsSHA256 != "" {
		if _, err := CheckWeights(path, c); err != nil {
			return nil, nil, err
		}
	}
	wp, _ := paths(path)
	f, err := safetensors.ReadFile(wp)
	if err != nil {
		return nil, nil, err
	}
	m, err := vgg.New(c.Model, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", wp, err)
	}
	if err := LoadWeights(m, f); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", wp, err)
	}
	return m, c, nil
}

// ErrWeights reports weights that do not match the architecture.
var ErrWeights = errors.New("weights do not match the model")

// LoadWeights copies f's tensors into m. Every parameter of m must be
// present with its exact shape, and f may hold nothing else except entries
// whose names start with one of the ignore prefixes.
func LoadWeights(m *vgg.Model, f *safetensors.File, ignore ...string) error {
	want := map[string]*tensor.Tensor{}
	for _, p := range m.Params() {
		want[p.Name] = p.W
	}
	var extra []string
	seen := map[string]bool{}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		w, ok := want[t.Name]
		if !ok {
			if !hasPrefix(t.Name, ignore) {
				extra = append(extra, t.Name)
			}
			continue
		}
		if !tensor.SameShape(w.Shape, t.Shape) {
			return fmt.Errorf("%w: %s has shape %v, model needs %v", ErrWeights, t.Name, t.Shape, w.Shape)
		}
		copy(w.Data, t.Data)
		seen[t.Name] = true
	}
	var missing []string
	for name := range want {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrWeights, strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("%w: unexpected %s", ErrWeights, strings.Join(extra, ", "))
	}
	return nil
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Kind is what a model file holds: KindANN or KindSNN.
type Kind string

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	switch Kind(b) {
	case KindANN, KindSNN:
		*k = Kind(b)
		return nil
	}
	return fmt.Errorf("unknown model kind %q (ann or snn)", b)
}

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k), nil }

// CalibrationMethod names how the thresholds were set from the layers'
// input currents.
type CalibrationMethod string

// Calibration methods.
const (
	// MaxCurrent sets each threshold to the largest input current.
	MaxCurrent CalibrationMethod = "max-current"
	// PercentileCurrent sets each threshold to a percentile of the input
	// currents (Calibration.Percentile).
	PercentileCurrent CalibrationMethod = "percentile-current"
	// FromFile: the thresholds were read with the weights from a file
	// written elsewhere (a NIR import).
	FromFile CalibrationMethod = "from-file"
	// PercentileActivation sets layer l's clip λ_l to a percentile of the
	// ANN's pre-activations and θ_l = λ_l/λ_{l−1}
	// (convert.Candidate.Activations).
	PercentileActivation CalibrationMethod = "percentile-activation"
	// QCFSClips takes θ_l = λ_l/λ_{l−1} from the clips λ_l of a QCFS ANN
	// (convert.Candidate.Clips).
	QCFSClips CalibrationMethod = "qcfs-clips"
)

// UnmarshalText implements encoding.TextUnmarshaler; it refuses methods
// other than MaxCurrent, PercentileCurrent, PercentileActivation,
// QCFSClips and FromFile.
func (m *CalibrationMethod) UnmarshalText(b []byte) error {
	switch CalibrationMethod(b) {
	case MaxCurrent, PercentileCurrent, FromFile, PercentileActivation, QCFSClips:
		*m = CalibrationMethod(b)
		return nil
	}
	return fmt.Errorf("unknown calibration method %q (%s, %s, %s, %s or %s)", b, MaxCurrent, PercentileCurrent, PercentileActivation, QCFSClips, FromFile)
}

// MarshalText implements encoding.TextMarshaler.
func (m CalibrationMethod) MarshalText() ([]byte, error) { return []byte(m), nil }
