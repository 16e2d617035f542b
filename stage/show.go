package stage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// ModelInfo describes what a model directory holds, from its card: the
// show command's and the library's answer to "what is this model?".
type ModelInfo struct {
	Path    string         `json:"path"`
	Kind    modelfile.Kind `json:"kind"`
	Network vgg.Config     `json:"network"`
	Weights int64          `json:"weights"` // the number of weights
	// Data is the data set the model (an SNN: its ANN) was trained on.
	Data       string   `json:"data,omitempty"`
	ClassNames []string `json:"class_names,omitempty"`
	// Metrics are the card's (an ANN's test accuracy; an encrypted SNN's
	// accuracy on its synthetic training images).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// SNN holds a spiking model's T, encoder, thresholds, how they were set
	// (Calibration) and its class-encryption training (Encryption, nil for
	// a network straight from conversion).
	SNN *modelfile.SNNSpec `json:"snn,omitempty"`
	// Quantisation is a QCFS ANN's record of its fine-tuning.
	Quantisation *modelfile.Quantisation `json:"quantisation,omitempty"`
	// Parent is the model this one was made from, and ANN the first ANN up
	// its lineage with its test accuracy, when found.
	Parent      *Lineage `json:"parent,omitempty"`
	ANN         string   `json:"ann,omitempty"`
	ANNAccuracy *float64 `json:"ann_accuracy,omitempty"`
	// Provenance is the card's record of what the model was made from.
	Provenance modelfile.Provenance `json:"provenance"`
	// WeightsSHA256 is the digest of the weights file now; Weights says
	// whether it is the one the card records: WeightsMatch, WeightsChanged
	// or WeightsUnrecorded.
	WeightsSHA256 string `json:"weights_sha256"`
	WeightsCheck  string `json:"weights_check"`
}

// Lineage is a model's reference to its parent and what is found there.
type Lineage struct {
	// Recorded is the path the card records (relative to the model),
	// Path where it leads; Problem is empty when the parent is there with
	// the weights recorded, else what is wrong.
	Recorded string `json:"recorded"`
	Path     string `json:"path"`
	Problem  string `json:"problem,omitempty"`
}

// Values of ModelInfo.WeightsCheck.
const (
	WeightsMatch      = "matches the card"
	WeightsChanged    = "changed since the card was written"
	WeightsUnrecorded = "not recorded in the card (an earlier version's)"
)

// Describe reads the card of the model at path and describes the model
// without loading the network: its kind, architecture, data, metrics,
// spiking settings, parent, provenance and whether its weights are the
// ones the card records. Errors are *InputErrors of RoleModel, as
// LoadModel's.
func Describe(path string) (*ModelInfo, error) {
	if _, err := os.Stat(filepath.Join(path, synth.ManifestFile)); err == nil {
		return nil, inputErr(RoleModel, path, ErrSyntheticSet)
	}
	c, err := modelfile.ReadCard(path)
	if err != nil {
		return nil, inputErr(RoleModel, path, err)
	}
	m := &Model{Path: path, Card: c}
	info := &ModelInfo{Path: path, Kind: c.Kind, Network: c.Model, Weights: c.Model.NumParamsEstimate(), Data: m.Dataset(),
		ClassNames: c.ClassNames, Metrics: c.Metrics, SNN: c.SNN, Quantisation: c.Quantisation, Provenance: c.Provenance, WeightsCheck: WeightsUnrecorded}
	info.WeightsSHA256, err = modelfile.CheckWeights(path, c)
	switch {
	case errors.Is(err, modelfile.ErrWeightsChanged):
		info.WeightsCheck = WeightsChanged
	case err != nil:
		return nil, inputErr(RoleModel, path, err)
	case c.WeightsSHA256 != "":
		info.WeightsCheck = WeightsMatch
	}
	if ref := c.Provenance.Parent; ref != nil {
		info.Parent = &Lineage{Recorded: ref.Path}
		info.Parent.Path, err = ref.Resolve(path)
		if err != nil {
			info.Parent.Problem = strings.TrimPrefix(err.Error(), info.Parent.Path+": ")
		}
	}
	if c.Kind == modelfile.KindSNN {
		if p, err := m.AncestorANN(); err == nil {
			info.ANN = p
			if ac, err := modelfile.ReadCard(p); err == nil {
				if a, ok := ac.Metrics["test_accuracy"]; ok {
					info.ANNAccuracy = &a
				}
			}
		}
	}
	return info, nil
}

// WriteText writes the description as the show command prints it.
func (d *ModelInfo) WriteText(w io.Writer) error {
	n := d.Network
	kind := KindName(d.Kind)
	if d.SNN != nil {
		kind += fmt.Sprintf(", T = %d, %s input", d.SNN.Timesteps, d.SNN.Encoder)
		if d.SNN.Signed {
			kind += ", signed neurons"
		}
		if d.SNN.Burst > 1 {
			kind += fmt.Sprintf(", burst spikes (up to %d per step)", d.SNN.Burst)
		}
	}
	fmt.Fprintf(w, "%s: %s\n", d.Path, kind)
	fmt.Fprintf(w, "  network     %s: features %s, hidden %s, %d classes, input %d×%d×%d (%d weights)\n", n.Name, vgg.FormatFeatures(n.Features),
		widths(n.Hidden), n.Classes, n.InChannels, n.InHeight, n.InWidth, d.Weights)
	fmt.Fprintf(w, "  data        %s\n", orNone(d.Data, "not recorded"))
	fmt.Fprintf(w, "  accuracy    %s\n", d.accuracy())
	if p := d.Parent; p != nil {
		state := "found"
		if p.Problem != "" {
			state = p.Problem
		}
		fmt.Fprintf(w, "  parent      %s (%s: %s)\n", p.Recorded, p.Path, state)
	}
	if q := d.Quantisation; q != nil {
		how := fmt.Sprintf("clips set on %s, no fine-tuning", orNone(q.Source, "–"))
		if q.Epochs > 0 {
			how = fmt.Sprintf("distilled for %d epochs on %s, epoch %d kept (0: the weights before)", q.Epochs, orNone(q.Source, "–"), q.Kept)
		}
		fmt.Fprintf(w, "  quantised   QCFS activations of %d levels, clips %s; %s\n", q.Levels, floats(q.Clips), how)
	}
	if s := d.SNN; s != nil {
		fmt.Fprintf(w, "  conversion  %s\n", conversionText(s))
		fmt.Fprintf(w, "  defence     %s\n", defenceText(s.Encryption))
	}
	pv := d.Provenance
	read := "no training data accessed"
	if pv.TrainingDataAccessed {
		read = "real training data read"
	}
	if pv.Imported != "" {
		read = "imported from " + pv.Imported + ", trained elsewhere on real data"
	}
	if pv.ImportedNIR != "" && pv.ImportedNIR != pv.Imported {
		read += "; read from the NIR file " + pv.ImportedNIR
	}
	fmt.Fprintf(w, "  made        from %s; %s; by %s\n", orNone(pv.Dataset, "–"), read, orNone(pv.Software, "unknown software"))
	_, err := fmt.Fprintf(w, "  weights     SHA-256 %s, %s\n", d.WeightsSHA256, d.WeightsCheck)
	return err
}

// accuracy words the accuracies the card and the lineage record.
func (d *ModelInfo) accuracy() string {
	var parts []string
	if a, ok := d.Metrics["test_accuracy"]; ok {
		parts = append(parts, fmt.Sprintf("%.2f%% on the test split", 100*a))
	}
	if a, ok := d.Metrics["train_accuracy_synthetic"]; ok {
		parts = append(parts, fmt.Sprintf("%.2f%% on its synthetic training images", 100*a))
	}
	switch {
	case d.Kind == modelfile.KindSNN && d.Provenance.Imported != "":
		parts = append(parts, "not measured here ('privatesnn eval' measures it)")
	case d.Kind == modelfile.KindSNN:
		parts = append(parts, "not measured on real data (the SNN was made without it; 'privatesnn eval' measures it)")
	}
	if d.Kind == modelfile.KindSNN {
		if d.ANNAccuracy != nil {
			parts = append(parts, fmt.Sprintf("its ANN %s: %.2f%%", d.ANN, 100**d.ANNAccuracy))
		}
	}
	return orNone(strings.Join(parts, "; "), "not recorded")
}

// conversionText words how a spiking model's thresholds were set, and
// says when its neurons are signed or fire bursts.
func conversionText(s *modelfile.SNNSpec) string {
	t := thresholdText(s)
	if s.Signed {
		t += "; signed neurons (a spike is taken back when the membrane falls below 0)"
	}
	if s.Burst > 1 {
		t += fmt.Sprintf("; burst spikes (a neuron fires up to %d spikes in one step)", s.Burst)
	}
	return t
}

// thresholdText words how a spiking model's thresholds were set.
func thresholdText(s *modelfile.SNNSpec) string {
	c := s.Calibration
	used := convert.Candidate{Percentile: c.Percentile, InitMembrane: s.InitMembrane, Encoder: s.Encoder,
		Activations: c.Method == modelfile.PercentileActivation, Clips: c.Method == modelfile.QCFSClips}
	recipe := orNone(c.Recipe, "not recorded")
	if sel := c.Selection; sel != nil {
		recipe += fmt.Sprintf(" (chosen without data among %d candidates)", len(sel.Candidates))
	}
	th := floats(s.Thresholds)
	src := orNone(c.Source, "–")
	switch c.Method {
	case modelfile.FromFile:
		return fmt.Sprintf("thresholds %s read from %s; %v input, reset %v, initial membrane %g·θ", th, orNone(c.Source, "a file"),
			s.Encoder, s.Reset, s.InitMembrane)
	case modelfile.QCFSClips:
		return fmt.Sprintf("recipe %s: %s; thresholds %s, the ratios of the ANN's clips", recipe, used, th)
	case modelfile.PercentileActivation:
		return fmt.Sprintf("recipe %s: %s; thresholds %s, from the ANN's activations on %d images of %s", recipe, used, th, c.Images, src)
	}
	return fmt.Sprintf("recipe %s: %s; thresholds %s, balanced on %d images of %s", recipe, used, th, c.Images, src)
}

// floats words a list of values with 4 significant digits.
func floats(v []float32) string {
	s := make([]string, len(v))
	for i, t := range v {
		s[i] = fmt.Sprintf("%.4g", t)
	}
	return strings.Join(s, ", ")
}

// defenceText words a spiking model's class-encryption training.
func defenceText(e *modelfile.Encryption) string {
	if e == nil {
		return "none: converted only, no class-encryption training"
	}
	teacher := ""
	if e.Teacher != nil {
		teacher = ", teacher ANN " + e.Teacher.Path
	}
	defenses := ""
	if e.Defenses != "" {
		defenses = "; inversion defences: " + e.Defenses
	}
	return fmt.Sprintf("class-encryption training %s: %s on %d images (%d per class) of %s, κ %.4g%s%s", e.Recipe, plural(e.Epochs, "epoch"),
		e.Images, e.PerClass, e.Source, e.Kappa, teacher, defenses)
}

// widths words hidden widths: "256" or "512,512", "none" for none.
func widths(h []int) string {
	if len(h) == 0 {
		return "none"
	}
	s := make([]string, len(h))
	for i, v := range h {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ",")
}

// orNone returns s, or none when s is empty.
func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
