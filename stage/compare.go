package stage

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/leakage"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/train"
)

// CompareJob balances thresholds once on synthetic and once on real
// training images with identical settings and compares the two SNNs on
// the test split: what data-free calibration costs. It is the one stage
// where real training images meet conversion.
type CompareJob struct {
	ANN        *Model
	Synth      *Synthetic
	Real, Test *imageset.Set
	// Settings are the paper's procedure (its recipe's calibration
	// passes) with the percentile, initial membrane and encoder as given.
	Settings convert.Settings
	Seed     uint64
}

// CalibrationRun is one calibration of a comparison.
type CalibrationRun struct {
	Source       string    `json:"source"`
	Thresholds   []float32 `json:"thresholds"`
	TestAccuracy float64   `json:"test_accuracy"`
}

// CompareResult is a finished comparison.
type CompareResult struct {
	Timesteps int            `json:"timesteps"`
	Images    int            `json:"calibration_images"`
	Synthetic CalibrationRun `json:"synthetic"`
	Real      CalibrationRun `json:"real"`
	// DifferencePP is the real calibration's test accuracy minus the
	// synthetic one's, in percentage points; DifferenceCI95PP its paired
	// 95 % interval over the same test images (leakage.PairedDifference),
	// in percentage points too.
	DifferencePP     float64          `json:"difference_pp"`
	DifferenceCI95PP leakage.Interval `json:"difference_ci95_pp"`
	ANNAccuracy      float64          `json:"ann_accuracy"`
	TestImages       int              `json:"test_images"`
	TestData         string           `json:"test_data"`
}

// CompareCalibration runs a CompareJob. p receives a convert.Shrunk event
// when the default calibration count shrinks to the smaller set, an event
// per calibration and its result, and the searches' reports.
func CompareCalibration(ctx context.Context, j CompareJob, p progress.Func) (*CompareResult, error) {
	s := j.Settings
	s.Recipe = convert.RecipePaper
	o := s.Options()
	if err := o.Validate(); err != nil {
		return nil, setting.Check(err)
	}
	if j.ANN.Card.Kind != modelfile.KindANN {
		return nil, inputErr(RoleModel, j.ANN.Path, &KindError{Have: j.ANN.Card.Kind, Want: modelfile.KindANN})
	}
	if err := j.Synth.CheckMadeFrom(j.ANN); err != nil {
		return nil, err
	}
	if err := CheckData(j.Real, RoleData, j.ANN); err != nil {
		return nil, err
	}
	if _, err := checkData(j.Test, RoleData, j.ANN, p); err != nil {
		return nil, err
	}
	k, err := s.CalibCount(min(j.Synth.Set.Len(), j.Real.Len()), "the smaller of the two image sets", func(sh convert.Shrunk) error {
		return p.Report(progress.Report{Label: shrunkText(sh), Detail: sh})
	})
	if err != nil {
		return nil, err
	}
	norm := j.ANN.Card.Normalization
	if err := norm.Validate(); err != nil {
		return nil, err
	}
	res := &CompareResult{Timesteps: o.Timesteps, TestImages: j.Test.Len(), TestData: j.Test.Name}
	var hits [][]bool // the synthetic calibration's, then the real one's
	for _, src := range []struct {
		run  *CalibrationRun
		name string
		set  *imageset.Set
	}{{&res.Synthetic, "synthetic:" + j.Synth.Path, &j.Synth.Set.Set}, {&res.Real, "real:" + j.Real.Name, j.Real}} {
		res.Images = min(k, src.set.Len())
		var h []bool
		if *src.run, h, err = calibrateOn(ctx, j, src.set, src.name, s.Sampling(k, norm), o, res.Images, p); err != nil {
			return nil, err
		}
		hits = append(hits, h)
	}
	d, ci, err := leakage.PairedDifference(hits[1], hits[0], leakage.Z95)
	if err != nil {
		return nil, err
	}
	res.DifferencePP, res.DifferenceCI95PP = 100*d, leakage.Interval{Lo: 100 * ci.Lo, Hi: 100 * ci.Hi}
	if res.ANNAccuracy, err = train.Evaluate(ctx, j.ANN.Net, j.Test, norm, 256); err != nil {
		return nil, err
	}
	return res, nil
}

// calibrateOn balances thresholds on one image set and scores the SNN on
// the test split: its accuracy, and which test images it classified right.
func calibrateOn(ctx context.Context, j CompareJob, set *imageset.Set, name string, sampling convert.Sampling, o convert.Options, images int,
	p progress.Func) (CalibrationRun, []bool, error) {
	norm := j.ANN.Card.Normalization
	if err := p.Report(progress.Report{Label: fmt.Sprintf("calibrating on %s (%d images)", name, images)}); err != nil {
		return CalibrationRun{}, nil, err
	}
	// Calibration normalises in float32 (imageset's Float32Table), as
	// Convert does.
	pool := set.Tensor(nil, norm.Float32Table())
	o.Progress = p
	th, err := convert.Calibrate(ctx, j.ANN.Net, pool, sampling, o, rand.New(rand.NewPCG(j.Seed, 0xca1b)))
	if err != nil {
		how, fix := calibrationWords(o)
		return CalibrationRun{}, nil, fmt.Errorf("%s: %w", name, deadLayer(err, o.Timesteps, name, how, fix))
	}
	net, err := snn.New(j.ANN.Net, o.Config(th))
	if err != nil {
		return CalibrationRun{}, nil, err
	}
	r, curve, err := Simulate(ctx, net, j.Test, norm, nil, j.Seed, p)
	if err != nil {
		return CalibrationRun{}, nil, err
	}
	run := CalibrationRun{Source: name, Thresholds: th, TestAccuracy: curve[0].Accuracy}
	err = p.Report(progress.Report{Label: fmt.Sprintf("%s: test accuracy %.2f%%", name, 100*run.TestAccuracy)})
	return run, snn.Hits(r, j.Test.Labels), err
}

// calibrationWords says how a calibration set the thresholds and the
// initial membrane and, for the paper's (the maximum current, zero), what
// else lets spikes reach deep layers in few steps.
func calibrationWords(o convert.Options) (how, fix string) {
	if p := o.Percentile; p > 0 && p < 100 {
		return fmt.Sprintf("(thresholds at percentile %g of the currents, initial membrane %g·θ)", p, o.InitMembrane), ""
	}
	if o.InitMembrane > 0 {
		return fmt.Sprintf("(thresholds at the maximum current, initial membrane %g·θ)", o.InitMembrane), ""
	}
	return "(thresholds at the maximum current, zero initial membrane)", "give a positive initial membrane or a threshold percentile below 100"
}
