package stage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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

// changedSettings reports, as ErrSettingsChanged, a run resumed with
// other settings than recorded: recorded[i] and given[i] are values of one
// type that encodes as a JSON object, and the error names every key whose
// value differs, with its recorded value, in the objects' order.
func changedSettings(recorded, given []any) error {
	var diff []string
	for i := range recorded {
		keys, rec, err := jsonFields(recorded[i])
		if err != nil {
			return err
		}
		_, giv, err := jsonFields(given[i])
		if err != nil {
			return err
		}
		for _, k := range keys {
			if !bytes.Equal(rec[k], giv[k]) {
				diff = append(diff, k+" "+string(rec[k]))
			}
		}
	}
	if len(diff) > 0 {
		return fmt.Errorf("%w (%s)", ErrSettingsChanged, strings.Join(diff, ", "))
	}
	return nil
}

// jsonFields returns the keys of v's JSON object, in order, and their
// values.
func jsonFields(v any) ([]string, map[string]json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return nil, nil, err
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, nil, err
		}
		keys = append(keys, k.(string))
	}
	return keys, fields, nil
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
