package convert

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Recipe names how Convert chooses the conversion settings.
type Recipe string

const (
	// RecipeSelect chooses the threshold percentile, initial membrane and
	// encoder for the target T without real data (Select), on synthetic
	// images held out from calibration.
	RecipeSelect Recipe = "select"
	// RecipePaper is the reference's recipe: maximum input current, zero
	// initial membrane, Poisson input, calibration images redrawn with a
	// random crop (pad 4) and flip for every layer's pass.
	RecipePaper Recipe = "paper"
)

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Recipe) UnmarshalText(b []byte) error {
	switch Recipe(b) {
	case RecipeSelect, RecipePaper:
		*r = Recipe(b)
		return nil
	}
	return fmt.Errorf("unknown recipe %q (select or paper)", b)
}

// MarshalText implements encoding.TextMarshaler.
func (r Recipe) MarshalText() ([]byte, error) { return []byte(r), nil }

// Reference settings of the paper's recipe.
const (
	PaperCalibImages = 2048 // two batches of 1,024
	PaperCropPad     = 4
	PaperTimesteps   = 100 // the reference's README
)

// Defaults of the select recipe: images drawn from the pool for the
// thresholds and, disjoint from them, for scoring the candidates, and the
// target T. They keep the 20-candidate search of the default network within
// a few minutes on two cores.
const (
	SelectCalibImages   = 512
	SelectHeldOutImages = 1024
	SelectTimesteps     = 16
)

// Plan describes a conversion.
type Plan struct {
	Recipe Recipe
	// Options holds T, leak, reset, scale and batch. With RecipePaper its
	// percentile, initial membrane and encoder are used as given (the
	// paper's are 0, 0 and Poisson); with RecipeSelect they are replaced by
	// the chosen candidate's.
	Options Options
	// Sampling draws the calibration images. With RecipeSelect a single
	// draw (augmented once if asked) serves the whole search, since the
	// search is staged; PerPass is then an error.
	Sampling Sampling
	// Candidates (RecipeSelect; nil: DefaultCandidates) and HeldOut, the
	// number of pool images set aside for scoring them.
	Candidates []Candidate
	HeldOut    int
	// Smooth scores the candidates on the held-out images after a 3×3 box
	// blur (imageset.Smooth): synthetic images are saturated, high-frequency
	// patterns that drive the first layers harder than natural images do,
	// and raw they favour thresholds that are too high for real inputs.
	// Blurred, they rank the candidates as real images do (measured on
	// Fashion-MNIST and MNIST). The thresholds are balanced on raw images
	// either way.
	Smooth bool
	// Correct (RecipeSelect) corrects the chosen network's initial
	// membranes per channel on the calibration images, blurred (Correct,
	// DefaultCorrectPasses sweeps): CorrectOn keeps the correction,
	// CorrectAuto keeps it only if it raises the agreement with the ANN at
	// T on the held-out images; "" or CorrectOff skips it.
	Correct CorrectMode
	// Progress, if set, reports each scored candidate (RecipeSelect; see
	// SelectOptions.Progress).
	Progress progress.Func
}

// Correction records a potential correction: the sweeps, the images it
// ran on, the agreement with the ANN's top-1 at T on the held-out images
// without and with it, and whether the network kept it.
type Correction struct {
	Mode            CorrectMode `json:"mode"`
	Passes          int         `json:"passes"`
	Images          int         `json:"images"`
	Source          string      `json:"source"`
	AgreementBefore float64     `json:"agreement_before"`
	AgreementAfter  float64     `json:"agreement_after"`
	Kept            bool        `json:"kept"`
}

// Outcome is the result of Convert.
type Outcome struct {
	// Options are the settings of the converted network and Thresholds
	// its thresholds: snn.New(m, Options.Config(Thresholds)).
	Options    Options
	Thresholds []float32
	// CalibrationImages is the number of images per balancing pass.
	CalibrationImages int
	// Selection records the scored candidates (RecipeSelect).
	Selection *Selection
	// ChannelInit is the corrected per-channel initial membranes
	// (snn.Config.ChannelInit) when a correction was kept, and Correction
	// its record when one ran.
	ChannelInit [][]float32
	Correction  *Correction
}

// correctOutcome runs Correct on the blurred calibration images for oc's
// network, scores the agreement with the ANN on heldOut without and with
// the correction, and keeps it in oc as mode says.
func correctOutcome(ctx context.Context, m *vgg.Model, oc *Outcome, calib, heldOut *tensor.Tensor, mode CorrectMode, rng *rand.Rand) error {
	cfg := oc.Options.Config(oc.Thresholds)
	// Raw synthetic images drive the first layers far harder than natural
	// ones; corrected on them, the network loses most of its accuracy on
	// real images (measured on Fashion-MNIST), so the correction always
	// sees them blurred.
	ch, err := Correct(ctx, m, cfg, imageset.Smooth(calib), CorrectOptions{Passes: DefaultCorrectPasses}, rand.New(rand.NewPCG(rng.Uint64(), 0xc0)))
	if err != nil {
		return err
	}
	want, err := ANNPredictions(ctx, m, heldOut)
	if err != nil {
		return err
	}
	seed := rng.Uint64()
	net, err := snn.New(m, cfg)
	if err != nil {
		return err
	}
	score := func(c snn.Config) (float64, error) {
		a, _, err := agreement(ctx, net, c, heldOut, want, max(1, c.Timesteps/2), rand.New(rand.NewPCG(seed, 0x5e1)))
		return a, err
	}
	rec := &Correction{Mode: mode, Passes: DefaultCorrectPasses, Images: calib.Shape[0], Source: "calibration images blurred by a 3×3 box filter"}
	if rec.AgreementBefore, err = score(cfg); err != nil {
		return err
	}
	cfg.ChannelInit = ch
	if rec.AgreementAfter, err = score(cfg); err != nil {
		return err
	}
	rec.Kept = mode == CorrectOn || rec.AgreementAfter > rec.AgreementBefore
	if rec.Kept {
		oc.ChannelInit = ch
	}
	oc.Correction = rec
	return nil
}

// Convert sets the thresholds of m's spiking network from pool, normalised
// synthetic images [N, C, H, W], following p; all randomness comes from
// rng, so the same seed gives the same thresholds.
//
// RecipePaper calls Calibrate. RecipeSelect shuffles the pool once, holds
// out the first p.HeldOut images for scoring and draws the calibration
// images from the rest, then calls Select.
func Convert(ctx context.Context, m *vgg.Model, pool *tensor.Tensor, p Plan, rng *rand.Rand) (*Outcome, error) {
	if err := checkCalib(pool); err != nil {
		return nil, err
	}
	switch p.Recipe {
	case RecipePaper:
		th, err := Calibrate(ctx, m, pool, p.Sampling, p.Options, rng)
		if err != nil {
			return nil, err
		}
		n := pool.Shape[0]
		if p.Sampling.Images > 0 {
			n = min(n, p.Sampling.Images)
		}
		return &Outcome{Options: p.Options, Thresholds: th, CalibrationImages: n}, nil
	case RecipeSelect:
		if p.Sampling.PerPass {
			return nil, fmt.Errorf("convert: the select recipe's search is staged; it cannot redraw images per pass")
		}
		N := pool.Shape[0]
		if p.HeldOut < 1 || p.HeldOut >= N {
			return nil, fmt.Errorf("convert: %d held-out images from a pool of %d: want at least 1 and some left to calibrate on", p.HeldOut, N)
		}
		per := pool.Len() / N
		perm := rng.Perm(N)
		gather := func(idx []int) *tensor.Tensor {
			x := tensor.New(append([]int{len(idx)}, pool.Shape[1:]...)...)
			for j, i := range idx {
				copy(x.Data[j*per:(j+1)*per], pool.Data[i*per:(i+1)*per])
			}
			return x
		}
		heldOut := gather(perm[:p.HeldOut])
		calib := p.Sampling.Draw(gather(perm[p.HeldOut:]), rng)
		if p.Smooth {
			heldOut = imageset.Smooth(heldOut)
		}
		res, err := Select(ctx, m, calib, heldOut, SelectOptions{Base: p.Options, Candidates: p.Candidates, Progress: p.Progress}, rng)
		if err != nil {
			return nil, err
		}
		if p.Smooth {
			res.Record.Rule += "; held-out images blurred by a 3×3 box filter before scoring"
		}
		oc := &Outcome{Options: res.Options, Thresholds: res.Thresholds, CalibrationImages: calib.Shape[0], Selection: &res.Record}
		if p.Correct != "" && p.Correct != CorrectOff {
			if err := correctOutcome(ctx, m, oc, calib, heldOut, p.Correct, rng); err != nil {
				return nil, err
			}
		}
		return oc, nil
	}
	return nil, fmt.Errorf("convert: unknown recipe %q", p.Recipe)
}
