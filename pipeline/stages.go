package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/train"
	"github.com/privatesnn/privatesnn/vgg"
)

// Software is recorded in every card the pipeline writes.
var Software = "privatesnn (pipeline)"

// ModelDir is the sub-directory of a model stage holding the model files.
const ModelDir = "model"

// loadData loads a split of the configured data set.
func loadData(d DataConfig, split string) (*data.Set, error) {
	s, err := data.Load(d.Name, split, d.Dir)
	if err != nil {
		return nil, err
	}
	if d.Limit > 0 && d.Limit < s.Len() {
		idx := make([]int, d.Limit)
		for i := range idx {
			idx[i] = i
		}
		s = s.Subset(idx)
	}
	return s, nil
}

// architecture builds a VGG config for the data's shape.
func architecture(a ANNConfig, s *data.Set) (vgg.Config, error) {
	name := a.Model
	if name == "" {
		name = "small"
	}
	cfg, err := vgg.Preset(name, s.Channels, s.Height, s.Width, s.Classes)
	if err != nil {
		return cfg, err
	}
	if a.Features != "" {
		if cfg.Features, err = vgg.ParseFeatures(a.Features); err != nil {
			return cfg, fmt.Errorf("features: %w", err)
		}
		cfg.Name = "custom"
	}
	switch a.Hidden {
	case "":
	case "-":
		cfg.Hidden = nil
	default:
		cfg.Hidden = nil
		for _, f := range strings.Split(a.Hidden, ",") {
			h, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || h < 1 {
				return cfg, fmt.Errorf("hidden %q: want positive integers", a.Hidden)
			}
			cfg.Hidden = append(cfg.Hidden, h)
		}
	}
	return cfg, cfg.Validate()
}

// TrainResult is the result of a training stage.
type TrainResult struct {
	Model        string  `json:"model"` // directory, relative to the stage's
	Arch         string  `json:"arch"`
	Params       int     `json:"params"`
	TestAccuracy float64 `json:"test_accuracy"`
	Data         string  `json:"data"`
	Imported     string  `json:"imported,omitempty"`
}

// trainANN trains a network on the data's training split into dir/model
// (train.Fit), resuming from a checkpoint left there by an interrupted run.
func trainANN(ctx context.Context, dir string, d DataConfig, a ANNConfig, p progress.Func) (*TrainResult, error) {
	out := filepath.Join(dir, ModelDir)
	trainSet, err := loadData(d, data.Train)
	if err != nil {
		return nil, err
	}
	testSet, err := loadData(d, data.Test)
	if err != nil {
		return nil, err
	}
	arch, err := architecture(a, trainSet)
	if err != nil {
		return nil, err
	}
	job := train.Job{Out: out, Train: trainSet, Test: testSet, Arch: arch, Options: a.Options, Data: string(d.Name), Software: Software,
		Resume: exists(filepath.Join(out, modelfile.CheckpointState))}
	oc, err := train.Fit(ctx, job, func(s train.Start) error {
		return resuming(p, s.Resumed, s.Epoch, s.Step)
	}, p)
	if err != nil {
		return nil, err
	}
	res := &TrainResult{Model: ModelDir, Arch: vgg.FormatFeatures(oc.Model.Config.Features), Params: oc.Model.NumParams(), Data: testSet.Name}
	if n := len(oc.State.History); n > 0 {
		res.TestAccuracy = oc.State.History[n-1].TestAcc
	}
	return res, nil
}

// importANN copies an existing ANN into dir/model and scores it. path is
// a model directory with its card, or a bare PyTorch state_dict file
// (.safetensors) whose pool positions come from a's model and features
// and whose input size and class names come from the data set.
func importANN(ctx context.Context, dir string, d DataConfig, a ANNConfig, path string) (*TrainResult, error) {
	testSet, err := loadData(d, data.Test)
	if err != nil {
		return nil, err
	}
	var m *vgg.Model
	var card *modelfile.Card
	if st, serr := os.Stat(path); serr == nil && !st.IsDir() {
		arch, aerr := architecture(a, testSet)
		if aerr != nil {
			return nil, aerr
		}
		m, card, err = modelfile.ImportStateDict(path, modelfile.StateDictSpec{Features: arch.Features, Height: testSet.Height, Width: testSet.Width,
			ConvDropout: arch.ConvDropout, FCDropout: arch.FCDropout, Normalization: a.importNormalization(), ClassNames: testSet.ClassNames,
			Data: string(d.Name), Software: Software})
	} else {
		m, card, err = modelfile.Load(path)
		if err == nil && card.Kind != modelfile.KindANN {
			err = fmt.Errorf("it holds a %s model, want an ANN", card.Kind)
		}
		if err != nil {
			err = fmt.Errorf("import %s: %w", path, err)
		}
	}
	if err != nil {
		return nil, err
	}
	acc, err := train.Evaluate(ctx, m, testSet, card.Normalization, 256)
	if err != nil {
		return nil, err
	}
	if err := modelfile.Save(filepath.Join(dir, ModelDir), m, *card); err != nil {
		return nil, err
	}
	return &TrainResult{Model: ModelDir, Arch: vgg.FormatFeatures(m.Config.Features), Params: m.NumParams(), TestAccuracy: acc,
		Data: testSet.Name, Imported: path}, nil
}

// SynthResult is the synthesis stage's result.
type SynthResult struct {
	Images              int     `json:"images"`
	SoftArgmaxAgreement float64 `json:"soft_argmax_agreement"`
	FolderAgreement     float64 `json:"folder_agreement"`
}

func synthesize(ctx context.Context, dir, annDir string, c SynthConfig, p progress.Func) (*SynthResult, error) {
	o := synth.DefaultOptions()
	o.PerClass, o.Seed = c.PerClass, c.Seed
	if c.Batch > 0 {
		o.Invert.Batch = c.Batch
	}
	o.Invert.Iterations, o.Invert.LR = c.Iterations, c.LR
	job := synth.Job{Out: dir, Overwrite: true, ANN: annDir, Options: o, Schedule: c.Schedule, Software: Software}
	res, err := synth.Make(ctx, job, nil, p)
	if err != nil {
		return nil, err
	}
	return &SynthResult{Images: res.Stats.Images, SoftArgmaxAgreement: res.Stats.SoftArgmaxAgreement, FolderAgreement: res.Stats.FolderAgreement}, nil
}

// ConvertResult is the conversion stage's result.
type ConvertResult struct {
	Model        string    `json:"model"`
	Timesteps    int       `json:"timesteps"`
	Thresholds   []float32 `json:"thresholds"`
	Percentile   float64   `json:"percentile"`
	InitMembrane float64   `json:"init_membrane"`
	Encoder      string    `json:"encoder"`
}

func convertANN(ctx context.Context, dir, annDir, synthDir string, c ConvertConfig, p progress.Func) (*ConvertResult, error) {
	set, err := synth.Load(synthDir)
	if err != nil {
		return nil, err
	}
	st := convert.DefaultSettings(c.Recipe)
	st.Options.Timesteps, st.CalibImages, st.HeldOut = c.Timesteps, c.CalibImages, c.HeldOut
	if err := st.Validate(); err != nil {
		return nil, err
	}
	job := convert.Job{Out: filepath.Join(dir, ModelDir), ANN: annDir, Synth: synthDir, Set: set, Settings: st, Seed: c.Seed, Software: Software,
		Progress: p}
	oc, cfg, err := convert.ToDir(ctx, job)
	if err != nil {
		return nil, err
	}
	return &ConvertResult{Model: ModelDir, Timesteps: cfg.Timesteps, Thresholds: oc.Thresholds, Percentile: oc.Options.Percentile,
		InitMembrane: cfg.InitMembrane, Encoder: cfg.Encoder.String()}, nil
}

// EncryptResult is an encryption stage's result.
type EncryptResult struct {
	Model     string  `json:"model"`
	Recipe    string  `json:"recipe"`
	PerClass  int     `json:"per_class"`
	Kappa     float64 `json:"kappa"`
	TrainAcc  float64 `json:"train_accuracy_synthetic"`
	Timesteps int     `json:"timesteps"`
}

// encryptSNN trains the converted SNN in snnDir on perClass synthetic
// images per class (labelled by their soft labels' argmax), distilling from
// the ANN in annDir when o.Distill (encrypt.Train); it resumes from a
// checkpoint left in dir by an interrupted run.
func encryptSNN(ctx context.Context, dir, annDir, snnDir, synthDir string, perClass int, o encrypt.Options, p progress.Func) (*EncryptResult, error) {
	out := filepath.Join(dir, ModelDir)
	set, err := synth.Load(synthDir)
	if err != nil {
		return nil, err
	}
	job := encrypt.Job{Out: out, SNN: snnDir, Teacher: annDir, Synth: synthDir, Set: set, Labels: encrypt.LabelsTarget, PerClass: perClass,
		Options: o, Resume: exists(filepath.Join(out, modelfile.CheckpointState)), Software: Software}
	oc, err := encrypt.Train(ctx, job, func(s encrypt.Start) error {
		return resuming(p, s.Resumed, s.Epoch, s.Step)
	}, p)
	if err != nil {
		return nil, err
	}
	res := &EncryptResult{Model: ModelDir, Recipe: oc.Card.SNN.Encryption.Recipe, PerClass: perClass, Kappa: oc.State.Kappa, Timesteps: oc.Timesteps}
	if n := len(oc.State.History); n > 0 {
		res.TrainAcc = oc.State.History[n-1].TrainAcc
	}
	return res, nil
}

// resuming reports a run resumed at 0-based epoch and step, as an event.
func resuming(p progress.Func, resumed bool, epoch, step int) error {
	if !resumed {
		return nil
	}
	return p.Report(progress.Report{Label: fmt.Sprintf("resuming at epoch %d, step %d", epoch+1, step+1)})
}

// modelPath returns the model directory of a model stage's output.
func modelPath(o Output) string { return filepath.Join(o.Dir, ModelDir) }

// removeAll removes a directory tree, ignoring a missing one.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return nil
}
