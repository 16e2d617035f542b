package convert

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// Job is one conversion from an ANN directory and a synthetic set into an
// SNN directory: the stage both the convert command and the pipeline run.
type Job struct {
	// Out is the model directory written; ANN the model converted; Synth
	// the set's path (recorded as the calibration source) and Set its
	// images.
	Out, ANN, Synth string
	Set             *synth.Set
	// Settings are validated (Settings.Validate).
	Settings Settings
	Seed     uint64
	Software string
	// Progress receives what Resolve adjusted, as events, and the
	// conversion's reports: it becomes the plan's Options.Progress (the
	// threshold search) and Progress (the candidates of the select
	// recipe). A non-nil error from it stops the job.
	Progress progress.Func
	// Prepare, when set, is called with the plan before the conversion
	// starts (to report it, or to change its progress callbacks).
	Prepare func(p *Plan, m *vgg.Model) error
}

// ToDir runs a Job: it resolves the plan for the set, converts (seeded by
// Seed) and saves the spiking model with a card recording its parent ANN,
// the calibration and that no training data was accessed. It returns the
// outcome and the spiking network's configuration.
func ToDir(ctx context.Context, j Job) (*Outcome, snn.Config, error) {
	m, card, err := modelfile.Load(j.ANN)
	if err != nil {
		return nil, snn.Config{}, fmt.Errorf("convert: %w", err)
	}
	set := j.Set
	mc := m.Config
	if set.Channels != mc.InChannels || set.Height != mc.InHeight || set.Width != mc.InWidth || set.Classes != mc.Classes {
		return nil, snn.Config{}, fmt.Errorf("%w: synthetic images are %d×%d×%d in %d classes, model %s expects %d×%d×%d in %d", ErrSettings,
			set.Channels, set.Height, set.Width, set.Classes, mc.Name, mc.InChannels, mc.InHeight, mc.InWidth, mc.Classes)
	}
	norm := card.Normalization
	var noteErr error
	note := func(format string, args ...any) {
		if noteErr == nil {
			noteErr = j.Progress.Report(progress.Report{Label: fmt.Sprintf(format, args...)})
		}
	}
	plan, err := j.Settings.Resolve(set.Len(), j.Synth, norm, note)
	if err != nil {
		return nil, snn.Config{}, err
	}
	if noteErr != nil {
		return nil, snn.Config{}, fmt.Errorf("convert: %w", noteErr)
	}
	plan.Options.Progress, plan.Progress = j.Progress, j.Progress
	if err := norm.Validate(); err != nil {
		return nil, snn.Config{}, fmt.Errorf("convert: %w", err)
	}
	// Calibration normalises in float32 (imageset's Float32Table), as the
	// published SNNs were calibrated.
	pool := set.Tensor(nil, norm.Float32Table())
	parent, err := modelfile.NewRef(j.Out, j.ANN)
	if err != nil {
		return nil, snn.Config{}, err
	}
	if j.Prepare != nil {
		if err := j.Prepare(&plan, m); err != nil {
			return nil, snn.Config{}, err
		}
	}
	oc, err := Convert(ctx, m, pool, plan, rand.New(rand.NewPCG(j.Seed, 0xca1b)))
	if err != nil {
		return nil, snn.Config{}, err
	}
	cfg := oc.Options.Config(oc.Thresholds)
	if _, err := snn.New(m, cfg); err != nil {
		return nil, snn.Config{}, err
	}
	sc := *card
	if sc.Data == "" && sc.Kind == modelfile.KindANN {
		sc.Data, _, _ = strings.Cut(sc.Provenance.Dataset, "/")
	}
	sc.Provenance = modelfile.Provenance{Dataset: "none (synthetic calibration)", TrainingDataAccessed: false, Parent: parent, Software: j.Software}
	sc.Seed, sc.Metrics, sc.Training = j.Seed, nil, nil
	sc.SNN = &modelfile.SNNSpec{Config: cfg, Calibration: Record(oc, plan, j.Seed, set.Len(), "synthetic:"+j.Synth)}
	if err := modelfile.Save(j.Out, m, sc); err != nil {
		return nil, snn.Config{}, err
	}
	return oc, cfg, nil
}
