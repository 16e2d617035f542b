package synth

import (
	"context"
	"fmt"

	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/vgg"
)

// Job is one synthesis from a model directory into a set directory: the
// stage both the synth command and the pipeline run.
type Job struct {
	// Out is the set directory written (see WriteDir; Overwrite replaces
	// an existing set's own files).
	Out       string
	Overwrite bool
	// ANN is the model directory synthesised from.
	ANN string
	// Options are complete except the normalisation, taken from the ANN's
	// card, and the steps and rate, filled from Schedule where zero.
	Options  Options
	Schedule Schedule
	// KeepBounded keeps Options.Invert.Bounded under the reference
	// schedule (which otherwise optimises pixels unconstrained).
	KeepBounded bool
	Software    string
}

// Prepared is a Job's model and completed options, for progress reports.
type Prepared struct {
	Model   *vgg.Model
	Options Options
}

// Make runs a Job: it loads the ANN, completes the options, generates the
// set and writes it with a manifest that names the ANN and its weights'
// digest. start, when not nil, is called before the generation starts.
// pr receives Generate's reports.
func Make(ctx context.Context, j Job, start func(Prepared) error, pr progress.Func) (*Result, error) {
	m, card, err := modelfile.Load(j.ANN)
	if err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	if card.Kind != modelfile.KindANN {
		return nil, fmt.Errorf("synth: %s holds a %s model, want an ANN", j.ANN, card.Kind)
	}
	digest, err := modelfile.WeightsDigest(j.ANN)
	if err != nil {
		return nil, err
	}
	o := j.Options
	if err := j.Schedule.Apply(&o, m.Config.InHeight, m.Config.InWidth, j.KeepBounded); err != nil {
		return nil, err
	}
	o.Normalization = card.Normalization
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if start != nil {
		if err := start(Prepared{Model: m, Options: o}); err != nil {
			return nil, err
		}
	}
	res, err := Generate(ctx, m, o, pr)
	if err != nil {
		return nil, err
	}
	man := res.Manifest(j.ANN, m.Config.Name, j.Software, card.ClassNames)
	man.ModelSHA256 = digest
	if err := WriteDir(j.Out, res.Set, man, j.Overwrite); err != nil {
		return nil, err
	}
	return res, nil
}
