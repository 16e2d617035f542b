package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/stage"
)

// calibFlags registers the threshold-balancing flags into s, shared by
// convert and calibrate-compare (recipes false: the paper's procedure with
// the percentile, initial membrane and encoder as given).
func calibFlags(fs *flag.FlagSet, b *bounds, s *convert.Settings, seed *uint64, recipes bool) {
	sel := map[bool]string{true: "select: pins the search to it; "}[recipes] // calibrate-compare has no recipes: the paper's procedure
	if recipes {
		fs.TextVar(&s.Recipe, "recipe", s.Recipe, "select: choose the threshold percentile, initial membrane and encoder for the target T on held-out synthetic images (data-free); "+
			"paper: the reference's maximum current, zero initial membrane, Poisson input")
		b.Int(fs, &s.HeldOut, "held-out", 0, 0, 1<<20, fmt.Sprintf("select: synthetic images held out to score the candidates (0: %d, or a third of a smaller set)", convert.SelectHeldOutImages))
		fs.TextVar(&s.Score, "score-images", s.Score, "select: score the candidates on the held-out images blurred (3×3 box; ranks candidates as natural images do) or raw")
		fs.TextVar(&s.Source, "thresholds", s.Source, "select: candidate thresholds balanced on the spiking network's input currents (currents, the default; 20 candidates), "+
			"taken from percentiles of the ANN's activations (activations; 6), all 26, or a QCFS ANN's clips (clips; the default for an ANN from 'privatesnn quantise')")
		fs.TextVar(&s.Correct, "correct", s.Correct, "select: potential correction, per channel, of the chosen network's initial membranes on the blurred calibration images: "+
			"off (the default; on for an ANN from 'privatesnn quantise'), on, or auto (kept only if it raises the agreement with the ANN on the held-out images)")
		fs.BoolVar(&s.Signed, "signed", s.Signed, "signed neurons: a neuron also fires −1 (and its membrane rises by the threshold) when its membrane falls below 0 "+
			"while it has fired more spikes than it took back, correcting an early surplus of input (needs --reset subtract; NIR cannot express it)")
		b.Int(fs, &s.Burst, "burst", 0, 0, snn.MaxBurst, "burst spikes: a neuron fires up to this many spikes in one step, each threshold its layer's clip divided by it "+
			"(0 or 1: one spike per step; with --signed, up to this many positive spikes or one negative spike; needs --reset subtract; every spike counts in the energy; NIR cannot express it)")
	}
	b.Int(fs, &s.Timesteps, "timesteps", 0, 0, snn.MaxTimesteps, map[bool]string{true: fmt.Sprintf("time steps T of the spiking network, the target of the selection (0: %d for select, %d for paper)",
		convert.SelectTimesteps, convert.PaperTimesteps), false: fmt.Sprintf("time steps T of the spiking networks (0: %d, as the reference)", convert.PaperTimesteps)}[recipes])
	b.Float(fs, &s.Leak, "leak", s.Leak, interval{lo: 0, hi: 1, loOpen: true}, "membrane leak λ (1 = integrate-and-fire)")
	fs.TextVar(&s.Reset, "reset", s.Reset, "reset after a spike: subtract or zero")
	optText(fs, &s.Encoder, "encoder", "input encoding: poisson or direct ("+sel+"default poisson)")
	optFloat(fs, b, &s.Percentile, "percentile", interval{lo: 0, hi: 100}, "threshold = this percentile of the input currents, in [50, 100], or 0 for the maximum ("+sel+"default the maximum)")
	optFloat(fs, b, &s.InitMembrane, "init-membrane", interval{lo: 0, hi: 1}, "initial membrane potential as a fraction of the threshold ("+sel+"default 0)")
	b.Float(fs, &s.Scale, "scale", s.Scale, interval{lo: 0, hi: 100, loOpen: true}, "multiply every threshold by this factor")
	b.Int(fs, &s.Batch, "batch", s.Batch, 1, 1<<16, "calibration images simulated together")
	b.Int(fs, &s.CalibImages, "calib-images", 0, 0, 1<<20, map[bool]string{true: fmt.Sprintf("calibration images per pass (0: %d for paper, as the reference; %d for select; fewer when the set is smaller)", convert.PaperCalibImages, convert.SelectCalibImages), false: fmt.Sprintf("calibration images per pass (0: %d, as the reference; fewer when the smaller set has fewer)", convert.PaperCalibImages)}[recipes])
	fs.TextVar(&s.Augment, "augment", s.Augment, map[bool]string{true: "calibration augmentation: on (random crop and flip; paper: redrawn for every layer's pass), off (one draw, unchanged images), auto (paper: on, select: off)", false: "calibration augmentation: on (random crop and flip, redrawn for every layer's pass), off (one draw, unchanged images), auto (on)"}[recipes])
	b.Int(fs, &s.CropPad, "crop-pad", s.CropPad, 0, 64, "padding of the random crop when --augment is on")
	fs.Uint64Var(seed, "seed", 0, "random seed (image choice, augmentation, Poisson spikes)")
}

// convertCommand is the convert command's settings.
type convertCommand struct {
	job          stage.ConvertJob
	model, synth string
	force        bool
	out          output
}

func runConvert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := convertCommand{job: stage.ConvertJob{Settings: convert.DefaultSettings(convert.RecipeSelect), Software: version()}}
	var b bounds
	fs := newFlagSet("convert")
	calibFlags(fs, &b, &c.job.Settings, &c.job.Seed, true)
	fs.StringVar(&c.model, "model", "", "trained ANN (directory or file; required)")
	fs.StringVar(&c.synth, "synth", "", "synthetic image set from 'privatesnn synth' made from this ANN (directory or file; required)")
	fs.StringVar(&c.job.Out, "out", "", "output directory of the spiking model (required)")
	fs.BoolVar(&c.force, "force", false, "replace the model files in an existing --out (other files stay)")
	nirExact := fs.Bool("nir-exact", false, "make a network NIR's semantics run exactly (export --format nir): reset zero, initial membrane 0, direct input")
	c.out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *nirExact {
		if err := c.job.Settings.PinNIRExact(); err != nil {
			return userError(err)
		}
	}
	if err := c.load(&b); err != nil {
		return err
	}
	return runStage(ctx, c.out, stdout, stderr, stage.Convert, c.job, func(res *stage.ConvertResult, w io.Writer) error {
		chosen := convert.Candidate{Percentile: res.Percentile, InitMembrane: res.InitMembrane, Encoder: res.Encoder}
		if res.Selection != nil {
			stage.WriteSelection(w, res.Selection)
			chosen = res.Selection.Candidates[res.Selection.Chosen].Candidate
		}
		if cr := res.Correction; cr != nil {
			kept := map[bool]string{true: "kept", false: "not kept"}[cr.Kept]
			fmt.Fprintf(w, "potential correction (%s, %d sweeps on %d blurred calibration images): agreement with the ANN %.2f%% → %.2f%% at T=%d; %s\n",
				cr.Mode, cr.Passes, cr.Images, 100*cr.AgreementBefore, 100*cr.AgreementAfter, res.Timesteps, kept)
		}
		signed := ""
		if res.Signed {
			signed = "; signed neurons"
		}
		if res.Burst > 1 {
			signed += fmt.Sprintf("; burst spikes, up to %d per step", res.Burst)
		}
		_, err := fmt.Fprintf(w, "converted %s to a spiking network (T=%d; %s%s; %d thresholds) in %.0fs; saved in %s (no training data accessed)\n",
			c.model, res.Timesteps, chosen, signed,
			len(res.Thresholds), res.Seconds, res.Out)
		return err
	}, nil)
}

// load checks the flags and loads the inputs before any work.
func (c *convertCommand) load(b *bounds) error {
	if err := ready(b, c.out.threads, "--model", c.model, "--synth", c.synth, "--out", c.job.Out); err != nil {
		return err
	}
	if err := userError(setting.Check(c.job.Settings.Validate())); err != nil {
		return err
	}
	var err error
	c.job.ANN, c.job.Synth, err = loadANNAndSet(c.job.Out, c.force, c.model, c.synth, "thresholds balanced on it would not fit this model")
	return err
}

// loadANNAndSet checks the --out of a command that writes a model from an
// ANN and its synthetic set (--force replaces its model files), then loads
// the ANN and the set and refuses a set made from another ANN (why: what
// that would do wrong).
func loadANNAndSet(out string, force bool, model, synth, why string) (*stage.Model, *stage.Synthetic, error) {
	if err := checkOut(out, modelfile.CardFile, "a model", force, model, synth); err != nil {
		return nil, nil, err
	}
	ann, err := loadModel(model, stage.RoleModel, modelfile.KindANN)
	if err != nil {
		return nil, nil, err
	}
	set, err := loadSynth(synth)
	if err != nil {
		return nil, nil, err
	}
	return ann, set, synthSource(set, ann, "--model "+model, why)
}

// synthSource refuses a synthetic set made from another ANN than ann,
// saying which model it should come from (as the user named it) and why it
// matters.
func synthSource(s *stage.Synthetic, ann *stage.Model, which, why string) error {
	var other *stage.OtherANNError
	if err := s.CheckMadeFrom(ann); errors.As(err, &other) {
		return usagef("--synth %s %v, not from %s; %s", s.Path, other, which, why)
	} else if err != nil {
		return err
	}
	return nil
}
