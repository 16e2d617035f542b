package convert

import (
	"fmt"
	"slices"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
)

// Augmentation is the augmentation of the calibration images.
type Augmentation string

// Augmentation settings.
const (
	AugmentAuto Augmentation = "auto" // the paper's recipe: on; select: off
	AugmentOn   Augmentation = "on"   // random crop (CropPad) and flip
	AugmentOff  Augmentation = "off"  // one draw of unchanged images
)

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Augmentation) UnmarshalText(b []byte) error {
	switch Augmentation(b) {
	case AugmentAuto, AugmentOn, AugmentOff:
		*a = Augmentation(b)
		return nil
	}
	return fmt.Errorf("want on, off or auto")
}

// MarshalText implements encoding.TextMarshaler.
func (a Augmentation) MarshalText() ([]byte, error) { return []byte(a), nil }

// Settings are a conversion's choices as a user states them; Resolve
// turns them into a Plan for a pool of images. The convert and
// calibrate-compare commands and the pipeline share them.
type Settings struct {
	Recipe Recipe
	// Options holds T (0: the recipe's default), leak, reset, scale and
	// batch, and the percentile, initial membrane and encoder: used as
	// given by the paper's recipe, pinning the search where Pin says so
	// for the select recipe.
	Options Options
	Pin     struct{ Percentile, InitMembrane, Encoder bool }
	// CalibImages is the images per calibration pass (0: the recipe's
	// default). With CalibExplicit a count beyond the pool is an error;
	// otherwise it shrinks to the pool.
	CalibImages   int
	CalibExplicit bool
	// HeldOut is the select recipe's held-out images (0: the default).
	// With HeldOutExplicit a count that leaves nothing to calibrate on is
	// an error; otherwise it shrinks to a third of the pool.
	HeldOut         int
	HeldOutExplicit bool
	// Augment is AugmentAuto, AugmentOn or AugmentOff; CropPad the crop's
	// padding when on.
	Augment Augmentation
	CropPad int
	// ScoreRaw scores the select recipe's candidates on the raw held-out
	// images instead of blurred ones.
	ScoreRaw bool
}

// DefaultSettings returns the recipe's defaults (T, the calibration and
// held-out counts are filled in by Validate).
func DefaultSettings(r Recipe) Settings {
	o := Defaults()
	o.Timesteps = 0
	return Settings{Recipe: r, Options: o, Augment: AugmentAuto, CropPad: PaperCropPad}
}

// Validate reports settings that contradict each other.
func (s *Settings) Validate() error {
	if p := s.Options.Percentile; p > 0 && p < 50 {
		return fmt.Errorf("convert: percentile %g out of range: want 0 (the maximum) or [50, 100]", p)
	}
	switch s.Augment {
	case AugmentAuto, AugmentOn, AugmentOff:
	default:
		return fmt.Errorf("convert: augment %q: want on, off or auto", s.Augment)
	}
	switch s.Recipe {
	case RecipePaper:
		if s.Options.Timesteps == 0 {
			s.Options.Timesteps = PaperTimesteps
		}
		if s.CalibImages == 0 {
			s.CalibImages = PaperCalibImages
		}
	case RecipeSelect:
		if s.Options.Timesteps == 0 {
			s.Options.Timesteps = SelectTimesteps
		}
		if s.CalibImages == 0 {
			s.CalibImages = SelectCalibImages
		}
		if s.HeldOut == 0 {
			s.HeldOut = SelectHeldOutImages
		}
	default:
		return fmt.Errorf("convert: unknown recipe %q (select or paper)", s.Recipe)
	}
	return s.Options.Validate()
}

// Candidates returns the select recipe's candidates: the defaults, pinned
// to the settings' percentile, initial membrane and encoder where Pin says.
func (s *Settings) Candidates() []snn.Candidate {
	var out []snn.Candidate
	for _, k := range DefaultCandidates() {
		if s.Pin.Percentile {
			k.Percentile = s.Options.Percentile
		}
		if s.Pin.InitMembrane {
			k.InitMembrane = s.Options.InitMembrane
		}
		if s.Pin.Encoder {
			k.Encoder = s.Options.Encoder
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// Sampling returns how k calibration images per pass are drawn.
func (s *Settings) Sampling(k int, norm imageset.Normalization) Sampling {
	on := s.Augment == AugmentOn || s.Augment == AugmentAuto && s.Recipe == RecipePaper
	sm := Sampling{Images: k, Norm: norm}
	if on {
		sm.CropPad, sm.Flip = s.CropPad, true
		sm.PerPass = s.Recipe == RecipePaper
	}
	return sm
}

// CalibCount returns how many of the available images to calibrate on; a
// default count beyond them shrinks, and note says so.
func (s *Settings) CalibCount(available int, what string, note func(format string, args ...any)) (int, error) {
	if s.CalibImages <= available {
		return s.CalibImages, nil
	}
	if s.CalibExplicit {
		return 0, fmt.Errorf("%w: calibration images %d: %s holds only %d images", ErrSettings, s.CalibImages, what, available)
	}
	if note != nil {
		note("calibrating on all %d images of %s (fewer than the default --calib-images %d)", available, what, s.CalibImages)
	}
	return available, nil
}

// ErrSettings reports settings that do not fit the images given.
var ErrSettings = fmt.Errorf("convert: settings do not fit the images")

// Resolve returns the plan for a pool of n images (what names it in
// messages); note receives what was adjusted. Call Validate first.
func (s *Settings) Resolve(n int, what string, norm imageset.Normalization, note func(format string, args ...any)) (Plan, error) {
	plan := Plan{Recipe: s.Recipe, Options: s.Options}
	available := n
	if s.Recipe == RecipeSelect {
		held := s.HeldOut
		if held >= n/2 {
			if s.HeldOutExplicit && held >= n {
				return Plan{}, fmt.Errorf("%w: held-out %d: %s holds only %d images, and some must be left to calibrate on", ErrSettings, held, what, n)
			}
			if !s.HeldOutExplicit {
				held = max(1, n/3)
				if note != nil {
					note("holding out %d of the %d images of %s for scoring (a third; the default --held-out is %d)", held, n, what, SelectHeldOutImages)
				}
			}
		}
		plan.HeldOut, plan.Candidates, plan.Smooth = held, s.Candidates(), !s.ScoreRaw
		available -= held
	}
	k, err := s.CalibCount(available, what, note)
	if err != nil {
		return Plan{}, err
	}
	plan.Sampling = s.Sampling(k, norm)
	return plan, nil
}

// Record returns the card's record of a conversion's calibration.
func Record(o *Outcome, p Plan, seed uint64, pool int, source string) modelfile.Calibration {
	method := modelfile.MaxCurrent
	if pc := o.Options.Percentile; pc > 0 && pc < 100 {
		method = modelfile.PercentileCurrent
	}
	cal := modelfile.Calibration{Method: method, Percentile: o.Options.Percentile, Scale: o.Options.Scale, Seed: seed,
		Images: o.CalibrationImages, Source: source, Pool: pool, CropPad: p.Sampling.CropPad, Flip: p.Sampling.Flip, PerPass: p.Sampling.PerPass,
		Recipe: modelfile.RecipePaper}
	if p.Recipe == RecipeSelect {
		cal.Recipe, cal.Selection, cal.Staged = modelfile.RecipeSelected, o.Selection, true
	}
	return cal
}
