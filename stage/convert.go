package stage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/vgg"
)

// ConvertJob converts an ANN into a spiking network on a synthetic set:
// the convert command's and the pipeline's conversion.
type ConvertJob struct {
	// Out is the model directory written.
	Out      string
	ANN      *Model
	Synth    *Synthetic
	Settings convert.Settings
	Seed     uint64
	Software string
}

// ConvertStart is the Detail of the event Convert reports before the
// threshold search: the plan and the network.
type ConvertStart struct {
	Plan  *convert.Plan
	Model *vgg.Model
}

// ConvertResult is a finished conversion.
type ConvertResult struct {
	Recipe            convert.Recipe     `json:"recipe"`
	Thresholds        []float32          `json:"thresholds"`
	Layers            []string           `json:"layers"`
	Timesteps         int                `json:"timesteps"`
	Percentile        float64            `json:"percentile"`
	InitMembrane      float64            `json:"init_membrane"`
	Encoder           snn.Encoder        `json:"encoder"`
	Signed            bool               `json:"signed,omitempty"`
	Burst             int                `json:"burst,omitempty"`
	CalibrationImages int                `json:"calibration_images"`
	Selection         *convert.Selection `json:"selection,omitempty"`
	// Correction is the potential correction's record, when one ran.
	Correction *convert.Correction `json:"correction,omitempty"`
	Seconds    float64             `json:"seconds"`
	Out        string              `json:"out"`
	// TrainingDataAccessed is always false: conversion reads synthetic
	// images only.
	TrainingDataAccessed bool `json:"training_data_accessed"`
}

// Convert resolves the plan for the synthetic set, converts (seeded by
// Seed) and saves the spiking model with a card recording its parent ANN,
// the calibration and that no training data was accessed. Before any work
// it refuses an Out that is a file, holds another kind of artifact than a
// model, or is, holds or lies inside an input (the ANN, a model its card
// leads to, the set).
//
// p receives a convert.Shrunk event for every default count the set made
// smaller, a ConvertStart event, then the threshold search's reports
// (convert.Layer and, for the select recipe, convert.Scored details).
func Convert(ctx context.Context, j ConvertJob, p progress.Func) (*ConvertResult, error) {
	start := time.Now()
	if j.ANN.Card.Kind != modelfile.KindANN {
		return nil, inputErr(RoleModel, j.ANN.Path, &KindError{Have: j.ANN.Card.Kind, Want: modelfile.KindANN})
	}
	levels := j.ANN.Net.Config.Levels
	if levels > 0 {
		j.Settings = j.Settings.ForQCFS()
	}
	if j.Settings.Source == convert.SourceClips && levels == 0 {
		return nil, setting.Errorf("thresholds", convert.SourceClips, "needs a QCFS ANN (from 'privatesnn quantise'); %s has ReLU activations", j.ANN.Path)
	}
	if err := j.Settings.Validate(); err != nil {
		return nil, setting.Check(err)
	}
	if err := checkANNOnSet(j.Out, j.ANN, j.Synth, "convert"); err != nil {
		return nil, err
	}
	m, card := j.ANN.Net, j.ANN.Card
	norm := card.Normalization
	set := j.Synth.Set
	plan, err := j.Settings.Resolve(set.Len(), j.Synth.Path, norm, func(s convert.Shrunk) error {
		return p.Report(progress.Report{Label: shrunkText(s), Detail: s})
	})
	if err != nil {
		return nil, err
	}
	plan.Options.Progress, plan.Progress = p, p
	// Calibration normalises in float32 (imageset's Float32Table), as the
	// published SNNs were calibrated.
	pool := set.Tensor(nil, norm.Float32Table())
	parent, err := modelfile.NewRef(j.Out, j.ANN.Path)
	if err != nil {
		return nil, err
	}
	if err := p.Report(progress.Report{Label: "converting", Detail: ConvertStart{Plan: &plan, Model: m}}); err != nil {
		return nil, err
	}
	oc, err := convert.Convert(ctx, m, pool, plan, rand.New(rand.NewPCG(j.Seed, 0xca1b)))
	if err != nil {
		return nil, deadLayer(err, plan.Options.Timesteps, j.Synth.Path, "with the paper's recipe (thresholds at the maximum current, zero initial membrane)",
			"use the select recipe")
	}
	cfg := oc.Options.Config(oc.Thresholds)
	cfg.ChannelInit = oc.ChannelInit
	if levels > 0 {
		// The spiking network's neurons are its activations: it keeps the
		// weights, and the clips live on in the thresholds.
		if m, err = m.Plain(); err != nil {
			return nil, err
		}
	}
	net, err := snn.New(m, cfg)
	if err != nil {
		return nil, err
	}
	sc := *card
	sc.Model, sc.Quantisation = m.Config, nil
	if sc.Data == "" {
		sc.Data = cardData(card)
	}
	sc.Provenance = modelfile.Provenance{Dataset: "none (synthetic calibration)", TrainingDataAccessed: false, Parent: parent, Software: j.Software}
	sc.Seed, sc.Metrics, sc.Training = j.Seed, nil, nil
	if err := sc.SetDataFolder(j.Out, card.DataFolder(j.ANN.Path)); err != nil {
		return nil, err
	}
	sc.SNN = &modelfile.SNNSpec{Config: cfg, Calibration: calibrationRecord(oc, plan, j.Seed, set.Len(), "synthetic:"+j.Synth.Path)}
	if err := modelfile.Save(j.Out, m, sc); err != nil {
		return nil, err
	}
	return &ConvertResult{Recipe: j.Settings.Recipe, Thresholds: oc.Thresholds, Layers: net.LayerNames(), Timesteps: cfg.Timesteps,
		Percentile: oc.Options.Percentile, InitMembrane: cfg.InitMembrane, Encoder: cfg.Encoder, Signed: cfg.Signed, Burst: cfg.Burst, CalibrationImages: oc.CalibrationImages,
		Selection: oc.Selection, Correction: oc.Correction, Seconds: time.Since(start).Seconds(), Out: j.Out}, nil
}

// checkANNOnSet refuses, before a stage that makes a model in out from
// an ANN and its synthetic set does any work, an out it must not write
// (one that is, holds or lies inside an input), a set made from another
// ANN or of another shape, and a card with an unusable normalisation
// (wrapped with the stage's name).
func checkANNOnSet(out string, ann *Model, syn *Synthetic, name string) error {
	if err := checkModelOut(out, modelInputs(ann), []input{{path: syn.Path}}); err != nil {
		return err
	}
	if err := syn.CheckMadeFrom(ann); err != nil {
		return err
	}
	if err := syn.checkFits(ann); err != nil {
		return err
	}
	if err := ann.Card.Normalization.Validate(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// deadLayer words a threshold search that found a layer past the first
// without positive input current at fewer time steps than the paper's
// recipe takes: spikes reach the deep layers late and rarely (with zero
// initial membrane and thresholds at the maximum current, not at all in a
// few steps), so the error names the timesteps setting; how says what the
// settings were, fix what else helps ("" for nothing). Other errors return
// as they are.
func deadLayer(err error, timesteps int, images, how, fix string) error {
	var d *convert.DeadLayerError
	if !errors.As(err, &d) || d.Index == 0 || timesteps >= convert.PaperTimesteps {
		return err
	}
	if fix != "" {
		fix = ", or " + fix
	}
	return setting.Errorf("timesteps", timesteps, "%s receives no positive input current from %d calibration images of %s: "+
		"too few time steps for spikes to reach this deep layer %s; raise it%s", d.Layer, d.Images, images, how, fix)
}

// shrunkText words a shrunk default count.
func shrunkText(s convert.Shrunk) string {
	if s.Key == "held_out" {
		return fmt.Sprintf("holding out %d of the %d images of %s for scoring (a third; the default is %d)", s.Used, s.Of, s.What, s.Default)
	}
	return fmt.Sprintf("calibrating on all %d images of %s (fewer than the default %d calibration images)", s.Used, s.What, s.Default)
}

// calibrationRecord returns the card's record of a conversion's
// calibration.
func calibrationRecord(o *convert.Outcome, p convert.Plan, seed uint64, pool int, source string) modelfile.Calibration {
	method := modelfile.MaxCurrent
	if pc := o.Options.Percentile; pc > 0 && pc < 100 {
		method = modelfile.PercentileCurrent
	}
	cal := modelfile.Calibration{Method: method, Percentile: o.Options.Percentile, Scale: o.Options.Scale, Seed: seed,
		Images: o.CalibrationImages, Source: source, Pool: pool, CropPad: p.Sampling.CropPad, Flip: p.Sampling.Flip, PerPass: p.Sampling.PerPass,
		Recipe: modelfile.RecipePaper}
	if p.Recipe == convert.RecipeSelect {
		cal.Recipe, cal.Selection, cal.Staged, cal.Correction = modelfile.RecipeSelected, untimed(o.Selection), true, o.Correction
		switch ch := o.Selection.Candidates[o.Selection.Chosen]; {
		case ch.Activations:
			cal.Method, cal.Staged = modelfile.PercentileActivation, false
		case ch.Clips:
			cal.Method, cal.Staged = modelfile.QCFSClips, false
		}
	}
	return cal
}

// untimed returns a copy of the selection without its wall times, so that
// the card, like every artifact, has the same bytes for the same seed and
// thread count (the result keeps the times).
func untimed(s *convert.Selection) *convert.Selection {
	if s == nil {
		return nil
	}
	c := *s
	c.Seconds = 0
	c.Candidates = append([]convert.CandidateScore(nil), s.Candidates...)
	for i := range c.Candidates {
		c.Candidates[i].Seconds = 0
	}
	return &c
}
