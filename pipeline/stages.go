package pipeline

import (
	"context"
	"path/filepath"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/qcfs"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/synth"
)

// DefaultSoftware names the software in the cards and reports of a run
// whose Config.Software is empty.
const DefaultSoftware = "privatesnn (pipeline)"

// software returns c's Software, or DefaultSoftware.
func (c Config) software() string {
	if c.Software == "" {
		return DefaultSoftware
	}
	return c.Software
}

// ModelDir is the sub-directory of a model stage holding the model files.
const ModelDir = "model"

// trainANN trains a network on the data's training split into dir/model
// (stage.Train), resuming from a checkpoint left there by an interrupted
// run.
func trainANN(ctx context.Context, dir, sw string, d data.Spec, s stage.TrainSettings, p progress.Func) (*stage.TrainResult, error) {
	out := filepath.Join(dir, ModelDir)
	trainSet, err := d.Load(data.Train)
	if err != nil {
		return nil, err
	}
	testSet, err := d.Load(data.Test)
	if err != nil {
		return nil, err
	}
	return stage.Train(ctx, stage.TrainJob{Out: out, Train: trainSet, Test: testSet, Data: string(d.Name), DataDir: d.Dir, Settings: s,
		Resume: exists(filepath.Join(out, modelfile.CheckpointState)), Software: sw}, p)
}

// importANN brings the ANN at a.Import into dir/model and scores it
// (stage.Import): a model directory with its card, or a bare PyTorch
// state_dict file (.safetensors) whose pool positions come from the
// architecture and whose input size and class names come from the data set.
func importANN(ctx context.Context, dir, sw string, d data.Spec, a ANNConfig, p progress.Func) (*stage.ImportResult, error) {
	testSet, err := d.Load(data.Test)
	if err != nil {
		return nil, err
	}
	is, err := a.ImportSettings(testSet)
	if err != nil {
		return nil, err
	}
	return stage.Import(ctx, stage.ImportJob{Out: filepath.Join(dir, ModelDir), Weights: a.Import, Settings: is, Test: testSet,
		Data: string(d.Name), DataDir: d.Dir, Software: sw}, p)
}

// synthesize synthesises the set into dir from the ANN in annDir.
func synthesize(ctx context.Context, dir, sw, annDir string, s synth.Settings, p progress.Func) (*stage.SynthResult, error) {
	ann, err := stage.LoadModel(annDir, stage.RoleModel, modelfile.KindANN)
	if err != nil {
		return nil, err
	}
	return stage.Synth(ctx, stage.SynthJob{Out: dir, Overwrite: true, ANN: ann, Settings: s, Software: sw}, p)
}

// loadANNAndSet loads the ANN in annDir and the synthetic set in synthDir.
func loadANNAndSet(annDir, synthDir string) (*stage.Model, *stage.Synthetic, error) {
	ann, err := stage.LoadModel(annDir, stage.RoleModel, modelfile.KindANN)
	if err != nil {
		return nil, nil, err
	}
	set, err := stage.LoadSynthetic(synthDir)
	return ann, set, err
}

// convertANN converts the ANN in annDir on the set in synthDir into
// dir/model.
func convertANN(ctx context.Context, dir, sw, annDir, synthDir string, c ConvertConfig, p progress.Func) (*stage.ConvertResult, error) {
	ann, set, err := loadANNAndSet(annDir, synthDir)
	if err != nil {
		return nil, err
	}
	return stage.Convert(ctx, stage.ConvertJob{Out: filepath.Join(dir, ModelDir), ANN: ann, Synth: set, Settings: c.Settings, Seed: c.Seed,
		Software: sw}, p)
}

// quantiseANN fine-tunes a QCFS copy of the ANN in annDir on the set in
// synthDir into dir/model (stage.Quantise).
func quantiseANN(ctx context.Context, dir, sw, annDir, synthDir string, o qcfs.Options, p progress.Func) (*stage.QuantiseResult, error) {
	ann, set, err := loadANNAndSet(annDir, synthDir)
	if err != nil {
		return nil, err
	}
	return stage.Quantise(ctx, stage.QuantiseJob{Out: filepath.Join(dir, ModelDir), ANN: ann, Synth: set, Options: o, Software: sw}, p)
}

// encryptSNN trains the converted SNN in snnDir on the synthetic set,
// distilling from the ANN in annDir when the options say so; it resumes
// from a checkpoint left in dir by an interrupted run.
func encryptSNN(ctx context.Context, dir, sw, annDir, snnDir, synthDir string, s stage.EncryptSettings, p progress.Func) (*stage.EncryptResult, error) {
	out := filepath.Join(dir, ModelDir)
	sn, err := stage.LoadModel(snnDir, stage.RoleModel, modelfile.KindSNN)
	if err != nil {
		return nil, err
	}
	teacher, err := stage.LoadModel(annDir, stage.RoleANN, modelfile.KindANN)
	if err != nil {
		return nil, err
	}
	set, err := stage.LoadSynthetic(synthDir)
	if err != nil {
		return nil, err
	}
	return stage.Encrypt(ctx, stage.EncryptJob{Out: out, SNN: sn, Teacher: teacher, Synth: set, Settings: s,
		Resume: exists(filepath.Join(out, modelfile.CheckpointState)), Software: sw}, p)
}

// encryptSettings returns the settings of one encryption stage.
func encryptSettings(c EncryptConfig, perClass int, distill bool, seed uint64) stage.EncryptSettings {
	s := c.EncryptSettings
	s.Options.Seed, s.Options.Distill, s.PerClass = seed, distill, perClass
	return s
}

// modelPath returns the model directory of a model stage's output.
func modelPath(o Output) string { return filepath.Join(o.Dir, ModelDir) }
