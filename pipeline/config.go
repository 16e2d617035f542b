package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// Config is a pipeline run's settings, one section per stage. Files are
// TOML or JSON with the same keys (the json tags); Explain writes every
// key with its default, the reference of the keys. Every section but
// data, eval and energy is the settings type of the stage it configures,
// with the same defaults as the command that runs that stage alone.
type Config struct {
	// Name labels the run; Workdir (default runs/<name>) holds one
	// directory per stage and the report.
	Name    string `json:"name"`
	Workdir string `json:"workdir,omitempty"`
	// Seed is the default seed of every stage that has none of its own.
	Seed uint64 `json:"seed"`
	// Threads is the threads to use (0: all cores); the command's --threads
	// replaces it.
	Threads int `json:"threads,omitempty"`
	// Software names the program in every card and report the run writes
	// (the privatesnn command: its version); empty is DefaultSoftware. It
	// is not a key of the configuration file.
	Software string `json:"-"`
	// Skip names stages to leave out (with every stage that needs them):
	// a sweep that only needs accuracy skips "evaluator", "evaluator2",
	// "audit" and "energy".
	Skip []string `json:"skip,omitempty"`

	// Data names the real data set: the ANN and the evaluator train on its
	// training split; evaluation, energy and leakage scoring read its test
	// split.
	Data      data.Spec           `json:"data"`
	ANN       ANNConfig           `json:"ann"`
	Synth     synth.Settings      `json:"synth"`
	Convert   ConvertConfig       `json:"convert"`
	Encrypt   EncryptConfig       `json:"encrypt"`
	Eval      stage.EvalSettings  `json:"eval"`
	Evaluator stage.TrainSettings `json:"evaluator"`
	// Evaluator2 is the audit's second evaluator, of another architecture
	// and seed: every attack is scored by both, and the worst case takes
	// the higher.
	Evaluator2 stage.TrainSettings  `json:"evaluator2"`
	Audit      audit.Settings       `json:"audit"`
	Energy     stage.EnergySettings `json:"energy"`
	// Frontier trains CET + OD with one inversion defence at each listed
	// strength and audits those models: the privacy–accuracy frontier.
	Frontier FrontierConfig `json:"frontier"`
	// Compare lists further conversions of the ANN, each evaluated and
	// measured beside DC (accuracy, Fig. 5a, spike rates, energy) and used
	// by no other stage: [[compare]] tables of a name and the convert
	// section's keys, each unset key the convert command's default.
	Compare []CompareConfig `json:"compare,omitempty"`
}

// ANNConfig trains a VGG network (or imports one).
type ANNConfig struct {
	// Import, when set, is used instead of training: a model directory
	// with its card (from privatesnn train or scripts/vgg_interop.py), or a
	// bare PyTorch state_dict saved with safetensors. A state_dict does not
	// record where the pools sit: the architecture's preset and features
	// give them, the data set gives the input size and class names, and the
	// widths are read from the weights.
	Import string `json:"import,omitempty"`
	// Normalization is an imported state_dict's input normalisation
	// (default mean 0.5, std 0.5, the reference's). Training always uses
	// 0.5/0.5.
	Normalization *imageset.Normalization `json:"normalization,omitempty"`
	stage.TrainSettings
}

// ImportSettings returns the settings of an imported state_dict: the
// architecture's pools and dropout rates, the normalisation.
func (a ANNConfig) ImportSettings(s *imageset.Set) (stage.ImportSettings, error) {
	cfg, err := a.Spec.Config(s.Channels, s.Height, s.Width, s.Classes)
	if err != nil {
		return stage.ImportSettings{}, err
	}
	is := stage.ImportSettings{Features: cfg.Features, ConvDropout: cfg.ConvDropout, FCDropout: cfg.FCDropout,
		Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}}
	if a.Normalization != nil {
		is.Normalization = *a.Normalization
	}
	return is, nil
}

// ConvertConfig configures threshold balancing.
type ConvertConfig struct {
	convert.Settings
	Seed uint64 `json:"seed"`
}

// EncryptConfig configures class-encryption training.
type EncryptConfig struct {
	stage.EncryptSettings
	// Ablation also trains CET without distillation (Table 3).
	Ablation bool `json:"ablation"`
	// Samples lists further images-per-class counts to train CET and
	// CET + OD with (Fig. 5b); empty: no sweep.
	Samples []int `json:"samples,omitempty"`
}

// Defaults returns a configuration for the embedded data with the
// defaults of every stage: those of the command that runs it alone.
func Defaults() Config {
	c := Config{Name: "run", Data: data.Spec{Name: data.Embedded}}
	c.ANN = ANNConfig{TrainSettings: stage.DefaultTrainSettings()}
	c.Synth = synth.DefaultSettings()
	c.Convert = ConvertConfig{Settings: convert.DefaultSettings(convert.RecipeSelect)}
	c.Encrypt = EncryptConfig{EncryptSettings: stage.DefaultEncryptSettings(), Ablation: true}
	c.Evaluator = stage.DefaultTrainSettings()
	c.Evaluator.Seed = 7
	c.Evaluator.Features = vgg.FeatureList{32, vgg.Pool, 64, vgg.Pool, 128, vgg.Pool}
	c.Evaluator.Hidden = &vgg.Widths{256}
	c.Evaluator2 = stage.DefaultTrainSettings()
	c.Evaluator2.Seed = 11
	c.Evaluator2.Features = vgg.FeatureList{16, 16, vgg.Pool, 32, 32, vgg.Pool}
	c.Evaluator2.Hidden = &vgg.Widths{128}
	c.Audit = audit.DefaultSettings()
	c.Frontier = FrontierConfig{Audit: FrontierAudit(c.Audit)}
	return c
}

// MaxConfigBytes bounds a configuration file.
const MaxConfigBytes = 1 << 20

// Load reads a TOML (.toml) or JSON (any other name) configuration over
// Defaults (see Parse). An error about the file's content is a
// *ConfigError naming the file.
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
		if ce, ok := errors.AsType[*ConfigError](err); ok {
			ce.File = path
		}
		return Config{}, "", err
	}
	if c.Workdir == "" {
		c.Workdir = filepath.Join("runs", c.Name)
	}
	return c, string(b), nil
}

// Parse decodes a configuration (TOML when isTOML, else JSON) over
// Defaults and validates it: keys present replace the defaults. A
// configuration must give name; an unknown key, a value of the wrong type
// or an unusable setting is a *ConfigError naming the key, its section and
// its line in the file's own syntax.
func Parse(b []byte, isTOML bool) (Config, error) {
	doc, err := decodeDocument(b, isTOML)
	if err != nil {
		return Config{}, err
	}
	return doc.config()
}

// Validate reports unusable settings.
func (c Config) Validate() error {
	if c.Name == "" || strings.ContainsAny(c.Name, `/\`) || c.Name == "." || c.Name == ".." {
		return fmt.Errorf("name %q: want a non-empty name without path separators", c.Name)
	}
	if err := c.Data.Validate(); err != nil {
		return err
	}
	if c.ANN.Import == "" {
		if _, err := c.ANN.Resolve(string(c.Data.Name)); err != nil {
			return fmt.Errorf("ann: %w", err)
		}
	}
	if _, err := c.Evaluator.Resolve(string(c.Data.Name)); err != nil {
		return fmt.Errorf("evaluator: %w", err)
	}
	if _, err := c.Evaluator2.Resolve(string(c.Data.Name)); err != nil {
		return fmt.Errorf("evaluator2: %w", err)
	}
	if c.Synth.PerClass < 1 {
		return fmt.Errorf("synth.per_class %d: want at least 1", c.Synth.PerClass)
	}
	if err := c.Convert.Validate(); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	if err := validCompare(c.Compare); err != nil {
		return err
	}
	if c.Encrypt.PerClass < 1 || c.Encrypt.PerClass > c.Synth.PerClass {
		return fmt.Errorf("encrypt.per_class %d: want 1 to synth.per_class (%d)", c.Encrypt.PerClass, c.Synth.PerClass)
	}
	for _, k := range c.Encrypt.Samples {
		if k < 1 || k > c.Synth.PerClass {
			return fmt.Errorf("encrypt.samples %d: want 1 to synth.per_class (%d)", k, c.Synth.PerClass)
		}
	}
	if err := validEncryptOptions(c.Encrypt.EncryptSettings); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if c.Eval.Points < 0 || c.Eval.Timesteps < 0 || c.Energy.Timesteps < 0 {
		return fmt.Errorf("eval.points %d, eval.timesteps %d and energy.timesteps %d: want 0 or more", c.Eval.Points, c.Eval.Timesteps, c.Energy.Timesteps)
	}
	if c.Eval.Candidates {
		return fmt.Errorf("eval.candidates: a run evaluates its ANN too; score the candidates with privatesnn eval --candidates")
	}
	if c.Audit.PerClass < 1 || len(c.Audit.Methods) == 0 {
		return fmt.Errorf("audit: per_class %d and %d methods: want at least 1 of each", c.Audit.PerClass, len(c.Audit.Methods))
	}
	if err := c.Audit.Options().Validate(); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := c.validateFrontier(); err != nil {
		return err
	}
	return validSkip(c)
}

// validEncryptOptions reports unusable encryption options, with the
// values that are filled in when training starts (the fill pixel, the
// dropout rates and the surrogate's defaults) set to usable ones.
func validEncryptOptions(s stage.EncryptSettings) error {
	o := s.Options
	o.Fill, o.ConvDropout, o.FCDropout = -1, max(0, o.ConvDropout), max(0, o.FCDropout)
	o.Surrogate = o.Surrogate.WithDefaults()
	return o.Validate()
}
