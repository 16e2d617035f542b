package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/train"
)

// Config is a pipeline run's settings, one section per stage. Files are
// TOML or JSON with the same keys (the json tags).
type Config struct {
	// Name labels the run; Workdir (default runs/<name>) holds one
	// directory per stage and the report.
	Name    string `json:"name"`
	Workdir string `json:"workdir,omitempty"`
	// Seed is the default seed of every stage that has none of its own.
	Seed    uint64 `json:"seed"`
	Threads int    `json:"threads,omitempty"`

	Data      DataConfig    `json:"data"`
	ANN       ANNConfig     `json:"ann"`
	Synth     SynthConfig   `json:"synth"`
	Convert   ConvertConfig `json:"convert"`
	Encrypt   EncryptConfig `json:"encrypt"`
	Eval      EvalConfig    `json:"eval"`
	Evaluator ANNConfig     `json:"evaluator"`
	Audit     AuditConfig   `json:"audit"`
	Energy    EnergyConfig  `json:"energy"`
}

// DataConfig names the real data set: the ANN and the evaluator train on
// its training split; evaluation, energy and leakage scoring read its test
// split.
type DataConfig struct {
	Name  data.Dataset `json:"name"`
	Dir   string       `json:"dir,omitempty"`
	Limit int          `json:"limit,omitempty"` // first N images of each split (0: all)
}

// ANNConfig trains a VGG network (or imports one).
type ANNConfig struct {
	// Import, when set, is used instead of training: a model directory
	// with its card (from privatesnn train or scripts/vgg_interop.py), or a
	// bare PyTorch state_dict saved with safetensors. A state_dict does not
	// record where the pools sit: Model and Features give them, the data
	// set gives the input size and class names, and the widths are read
	// from the weights.
	Import   string `json:"import,omitempty"`
	Model    string `json:"model,omitempty"`    // preset name (default "small")
	Features string `json:"features,omitempty"` // overrides the preset's, e.g. "32,A,64,A"
	Hidden   string `json:"hidden,omitempty"`   // overrides the preset's, e.g. "256"
	// Normalization is an imported state_dict's input normalisation
	// (default mean 0.5, std 0.5, the reference's). Training always uses
	// 0.5/0.5.
	Normalization *imageset.Normalization `json:"normalization,omitempty"`
	train.Options
}

// importNormalization is the normalisation an imported state_dict is
// recorded with.
func (a ANNConfig) importNormalization() imageset.Normalization {
	if a.Normalization != nil {
		return *a.Normalization
	}
	return imageset.Normalization{Mean: 0.5, Std: 0.5}
}

// SynthConfig configures synthesis.
type SynthConfig struct {
	PerClass   int            `json:"per_class"`
	Schedule   synth.Schedule `json:"schedule,omitempty"` // fast (default) or reference
	Iterations int            `json:"iterations,omitempty"`
	LR         float64        `json:"lr,omitempty"`
	Batch      int            `json:"batch,omitempty"`
	Seed       uint64         `json:"seed"`
}

// ConvertConfig configures threshold balancing.
type ConvertConfig struct {
	Recipe      convert.Recipe `json:"recipe"`
	Timesteps   int            `json:"timesteps"`
	CalibImages int            `json:"calib_images,omitempty"`
	HeldOut     int            `json:"held_out,omitempty"`
	Seed        uint64         `json:"seed"`
}

// EncryptConfig configures class-encryption training.
type EncryptConfig struct {
	PerClass int `json:"per_class"`
	// Ablation also trains CET without distillation (Table 3).
	Ablation bool `json:"ablation"`
	// Samples lists further images-per-class counts to train CET and
	// CET + OD with (Fig. 5b); empty: no sweep.
	Samples []int `json:"samples,omitempty"`
	encrypt.Options
}

// EvalConfig configures the accuracy evaluation on the test split.
type EvalConfig struct {
	Seed uint64 `json:"seed"`
	// Points is the number of readouts of the accuracy-against-T curve.
	Points int `json:"points"`
}

// AuditConfig configures the leakage audit.
type AuditConfig struct {
	PerClass int                       `json:"per_class"`
	Methods  []attack.Method           `json:"methods"`
	Seed     uint64                    `json:"seed"`
	Attack1  attack.VisualizeOptions   `json:"attack1"`
	Attack2  attack.SNNGradientOptions `json:"attack2"`
	Attack3  attack.InversionOptions   `json:"attack3"`
}

// EnergyConfig configures the energy estimate.
type EnergyConfig struct {
	Seed uint64 `json:"seed"`
}

// Defaults returns a configuration for the embedded data with the
// library defaults of every stage.
func Defaults() Config {
	c := Config{Name: "run", Data: DataConfig{Name: data.Embedded}}
	c.ANN = ANNConfig{Model: "small", Options: train.Defaults()}
	c.ANN.Epochs = 10
	c.ANN.Augment.HFlip = true // clothes survive a flip (set false for digits)
	c.Synth = SynthConfig{PerClass: 50, Schedule: synth.Fast}
	c.Convert = ConvertConfig{Recipe: convert.RecipeSelect, Timesteps: convert.SelectTimesteps}
	c.Encrypt = EncryptConfig{PerClass: 20, Ablation: true, Options: encrypt.Defaults()}
	c.Eval = EvalConfig{Points: 8}
	c.Evaluator = ANNConfig{Model: "small", Features: "32,A,64,A,128,A", Hidden: "256", Options: train.Defaults()}
	c.Evaluator.Epochs, c.Evaluator.Seed = 10, 7
	c.Evaluator.Augment.HFlip = true
	c.Audit = AuditConfig{PerClass: 10, Methods: []attack.Method{attack.Visualize, attack.SNNGradient, attack.SNNInversion},
		Attack1: attack.DefaultVisualize(), Attack2: attack.DefaultSNNGradient(), Attack3: attack.DefaultInversion()}
	return c
}

// MaxConfigBytes bounds a configuration file.
const MaxConfigBytes = 1 << 20

// Load reads a TOML (.toml) or JSON (any other name) configuration over
// Defaults: keys present in the file replace the defaults, unknown keys
// are an error.
func Load(path string) (Config, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, "", fmt.Errorf("pipeline: %w", err)
	}
	if len(b) > MaxConfigBytes {
		return Config{}, "", fmt.Errorf("pipeline: %s is larger than %d bytes", path, MaxConfigBytes)
	}
	c, err := Parse(b, strings.HasSuffix(strings.ToLower(path), ".toml"))
	if err != nil {
		return Config{}, "", fmt.Errorf("pipeline: %s: %w", path, err)
	}
	if c.Workdir == "" {
		c.Workdir = filepath.Join("runs", c.Name)
	}
	return c, string(b), nil
}

// Parse decodes a configuration (TOML when isTOML, else JSON) over
// Defaults and validates it.
func Parse(b []byte, isTOML bool) (Config, error) {
	js := b
	if isTOML {
		var m map[string]any
		if _, err := toml.Decode(string(b), &m); err != nil {
			return Config{}, err
		}
		var err error
		if js, err = json.Marshal(m); err != nil {
			return Config{}, err
		}
	}
	c := Defaults()
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, err
	}
	if dec.More() {
		return Config{}, errors.New("trailing data after the configuration")
	}
	return c, c.Validate()
}

// Validate reports unusable settings.
func (c Config) Validate() error {
	if c.Name == "" || strings.ContainsAny(c.Name, `/\`) || c.Name == "." || c.Name == ".." {
		return fmt.Errorf("name %q: want a non-empty name without path separators", c.Name)
	}
	if c.Data.Name == "" {
		return errors.New("data.name is empty")
	}
	if c.ANN.Import == "" {
		if err := c.ANN.Options.Validate(); err != nil {
			return fmt.Errorf("ann: %w", err)
		}
	}
	if err := c.Evaluator.Options.Validate(); err != nil {
		return fmt.Errorf("evaluator: %w", err)
	}
	if c.Synth.PerClass < 1 {
		return fmt.Errorf("synth.per_class %d: want at least 1", c.Synth.PerClass)
	}
	if c.Convert.Recipe != convert.RecipeSelect && c.Convert.Recipe != convert.RecipePaper {
		return fmt.Errorf("convert.recipe %q: want select or paper", c.Convert.Recipe)
	}
	if c.Convert.Timesteps < 1 {
		return fmt.Errorf("convert.timesteps %d: want at least 1", c.Convert.Timesteps)
	}
	if c.Encrypt.PerClass < 1 || c.Encrypt.PerClass > c.Synth.PerClass {
		return fmt.Errorf("encrypt.per_class %d: want 1 to synth.per_class (%d)", c.Encrypt.PerClass, c.Synth.PerClass)
	}
	for _, k := range c.Encrypt.Samples {
		if k < 1 || k > c.Synth.PerClass {
			return fmt.Errorf("encrypt.samples %d: want 1 to synth.per_class (%d)", k, c.Synth.PerClass)
		}
	}
	o := c.Encrypt.Options
	o.Fill = -1
	if err := o.Validate(); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if c.Eval.Points < 1 {
		return fmt.Errorf("eval.points %d: want at least 1", c.Eval.Points)
	}
	if c.Audit.PerClass < 1 || len(c.Audit.Methods) == 0 {
		return fmt.Errorf("audit: per_class %d and %d methods: want at least 1 of each", c.Audit.PerClass, len(c.Audit.Methods))
	}
	for _, err := range []error{c.Audit.Attack1.Validate(), c.Audit.Attack2.Validate(), c.Audit.Attack3.Validate()} {
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}
