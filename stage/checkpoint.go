package stage

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Errors of a resumed run.
var (
	// ErrNothingToResume reports a resume without a checkpoint.
	ErrNothingToResume = errors.New("no checkpoint to resume")
	// ErrSettingsChanged reports a resume whose settings differ from the
	// interrupted run's; the error names the recorded settings.
	ErrSettingsChanged = errors.New("the interrupted run was started with other settings")
)

// optimizerState is an optimiser's buffers as a checkpoint stores them.
type optimizerState interface {
	State() map[string]*tensor.Tensor
	LoadState(map[string]*tensor.Tensor) error
}

// loadCheckpoint reads the checkpoint in dir, decodes its options record
// into rec and loads its optimiser buffers into opt.
func loadCheckpoint(dir string, rec any, opt optimizerState) (*vgg.Model, *modelfile.Checkpoint, error) {
	m, ck, err := modelfile.LoadCheckpoint(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNothingToResume, err)
	}
	if err := json.Unmarshal(ck.Options, rec); err != nil {
		return nil, nil, fmt.Errorf("resume %s: options: %w", dir, err)
	}
	if opt != nil {
		if err := opt.LoadState(ck.Optimizer); err != nil {
			return nil, nil, fmt.Errorf("resume %s: %w", dir, err)
		}
	}
	return m, ck, nil
}

// sameRecord reports, as ErrSettingsChanged naming the recorded settings,
// a run resumed with other settings than recorded.
func sameRecord(recorded, given any) error {
	a, err := json.Marshal(recorded)
	if err != nil {
		return err
	}
	b, err := json.Marshal(given)
	if err != nil {
		return err
	}
	if string(a) != string(b) {
		return fmt.Errorf("%w (%s)", ErrSettingsChanged, a)
	}
	return nil
}

// saveCheckpoint writes the checkpoint of a run at (epoch, step) with its
// card so far, its options record, its history when not nil (a run that
// keeps it outside the record) and its optimiser's buffers.
func saveCheckpoint(dir string, m *vgg.Model, card modelfile.Card, epoch, step int, rec, history any, opt optimizerState) error {
	ck := modelfile.Checkpoint{Card: card, Epoch: epoch, Step: step, Optimizer: opt.State()}
	var err error
	if ck.Options, err = json.Marshal(rec); err != nil {
		return err
	}
	if history != nil {
		if ck.History, err = json.Marshal(history); err != nil {
			return err
		}
	}
	return modelfile.SaveCheckpoint(dir, m, ck)
}

// finish saves the trained model and removes the checkpoint it
// supersedes: a finished run cannot be resumed.
func finish(dir string, m *vgg.Model, card modelfile.Card) error {
	if err := modelfile.Save(dir, m, card); err != nil {
		return err
	}
	return modelfile.RemoveCheckpoint(dir)
}

// hasCheckpoint reports whether dir holds an interrupted run.
func hasCheckpoint(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, modelfile.CheckpointState))
	return err == nil
}
