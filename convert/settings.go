package convert

import (
	"fmt"
	"slices"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/setting"
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

// CorrectMode says whether the select recipe corrects the initial
// membranes per channel after choosing (see Correct).
type CorrectMode string

// Correction settings.
const (
	CorrectOff  CorrectMode = "off"
	CorrectOn   CorrectMode = "on"
	CorrectAuto CorrectMode = "auto" // kept only if the held-out agreement rises
)

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *CorrectMode) UnmarshalText(b []byte) error {
	if err := CorrectMode(b).check(); err != nil {
		return err
	}
	*c = CorrectMode(b)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (c CorrectMode) MarshalText() ([]byte, error) { return []byte(c), nil }

func (c CorrectMode) check() error {
	switch c {
	case "", CorrectOff, CorrectOn, CorrectAuto:
		return nil
	}
	return setting.Errorf("correct", c, "want off, on or auto")
}

// Score names the held-out images the select recipe scores candidates on.
type Score string

// Score settings.
const (
	// ScoreBlurred scores on the held-out images after a 3×3 box blur,
	// which ranks candidates as natural images do.
	ScoreBlurred Score = "blurred"
	// ScoreRaw scores on the raw held-out images.
	ScoreRaw Score = "raw"
)

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Score) UnmarshalText(b []byte) error {
	switch Score(b) {
	case ScoreBlurred, ScoreRaw:
		*s = Score(b)
		return nil
	}
	return fmt.Errorf("want blurred or raw")
}

// MarshalText implements encoding.TextMarshaler.
func (s Score) MarshalText() ([]byte, error) { return []byte(s), nil }

// Settings are a conversion's choices as a user states them, the same
// from the command line and from a pipeline configuration; Resolve turns
// them into a Plan for a pool of images. Zero and nil values mean the
// recipe's default.
type Settings struct {
	Recipe Recipe `json:"recipe"`
	// Timesteps is T (0: SelectTimesteps or PaperTimesteps).
	Timesteps int       `json:"timesteps,omitempty"`
	Leak      float64   `json:"leak"`
	Reset     snn.Reset `json:"reset"`
	// Scale multiplies every threshold; Batch is the images simulated
	// together.
	Scale float64 `json:"scale"`
	Batch int     `json:"batch"`
	// Percentile, InitMembrane and Encoder pin the select recipe's search
	// to one value each; nil searches. The paper's recipe fixes them
	// (maximum current, 0, Poisson) and refuses a pinned value.
	Percentile   *float64     `json:"percentile,omitempty"`
	InitMembrane *float64     `json:"init_membrane,omitempty"`
	Encoder      *snn.Encoder `json:"encoder,omitempty"`
	// CalibImages is the images per calibration pass: 0 takes the
	// recipe's default, shrunk to the pool when the pool is smaller; a
	// count beyond the pool is an error.
	CalibImages int `json:"calib_images,omitempty"`
	// HeldOut is the select recipe's held-out images: 0 takes the default,
	// shrunk to a third of a small pool; a count that leaves nothing to
	// calibrate on is an error.
	HeldOut int `json:"held_out,omitempty"`
	// Augment is AugmentAuto, AugmentOn or AugmentOff; CropPad the crop's
	// padding when on.
	Augment Augmentation `json:"augment"`
	CropPad int          `json:"crop_pad"`
	// Score is the select recipe's scoring images (default blurred).
	Score Score `json:"score_images"`
	// Correct is the select recipe's per-channel potential correction of
	// the chosen network's initial membranes (Correct): "off", "on", or
	// "auto" (kept only if it raises the agreement with the ANN on the
	// held-out images). Empty means "off", and "on" for a QCFS ANN
	// (ForQCFS).
	Correct CorrectMode `json:"correct,omitempty"`
	// Source is where the select recipe's candidate thresholds come from:
	// "currents" (or empty: the default; the DefaultCandidates, balanced on
	// the spiking network's input currents), "activations" (the
	// ActivationCandidates, percentiles of the ANN's activations), "all"
	// (both lists) or "clips" (a QCFS ANN's clips, ClipsCandidate; what an
	// empty source means for such an ANN).
	Source ThresholdSource `json:"thresholds,omitempty"`
	// Signed makes the network's neurons signed (snn.Config.Signed): a
	// neuron takes a spike back when its membrane falls below 0 after a
	// surplus of input; it needs reset by subtraction.
	Signed bool `json:"signed,omitempty"`
	// Burst lets the network's neurons fire up to Burst spikes in one step
	// (snn.Config.Burst), each threshold the layer's clip divided by
	// Burst; 0 and 1 are the ordinary neuron. It needs reset by
	// subtraction; with Signed, a neuron fires up to Burst positive spikes
	// or one negative spike in a step.
	Burst int `json:"burst,omitempty"`
}

// ThresholdSource names where the select recipe's thresholds come from.
type ThresholdSource string

// Threshold sources.
const (
	SourceCurrents    ThresholdSource = "currents"
	SourceActivations ThresholdSource = "activations"
	SourceAll         ThresholdSource = "all"
	// SourceClips takes the thresholds from a QCFS ANN's clips (one
	// candidate, ClipsCandidate); the default for such an ANN.
	SourceClips ThresholdSource = "clips"
)

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *ThresholdSource) UnmarshalText(b []byte) error {
	if err := ThresholdSource(b).check(); err != nil {
		return err
	}
	*t = ThresholdSource(b)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (t ThresholdSource) MarshalText() ([]byte, error) { return []byte(t), nil }

func (t ThresholdSource) check() error {
	switch t {
	case "", SourceCurrents, SourceActivations, SourceAll, SourceClips:
		return nil
	}
	return setting.Errorf("thresholds", t, "want currents, activations, all or clips")
}

// DefaultSettings returns the recipe's defaults.
func DefaultSettings(r Recipe) Settings {
	o := Defaults()
	return Settings{Recipe: r, Leak: o.Leak, Reset: o.Reset, Scale: o.Scale, Batch: o.Batch, Augment: AugmentAuto,
		CropPad: PaperCropPad, Score: ScoreBlurred}
}

// PinnedError is a setting the paper's recipe fixes, given with it: Key
// names the setting.
type PinnedError struct{ Key string }

func (e *PinnedError) Error() string {
	return "recipe paper fixes its settings (maximum current, zero initial membrane, Poisson input); " + e.Key + " needs recipe select"
}

// Validate reports settings that contradict each other.
func (s Settings) Validate() error {
	if p := s.Percentile; p != nil && (*p < 0 || *p > 100 || *p > 0 && *p < 50) {
		return setting.Errorf("percentile", *p, "want 0 (the maximum) or [50, 100]")
	}
	if err := s.Augment.check(); err != nil {
		return err
	}
	switch s.Recipe {
	case RecipePaper:
		pinned := []bool{s.Percentile != nil, s.InitMembrane != nil, s.Encoder != nil, s.HeldOut != 0, s.Score == ScoreRaw,
			s.Correct != "" && s.Correct != CorrectOff, s.Source != ""}
		for i, key := range []string{"percentile", "init_membrane", "encoder", "held_out", "score_images", "correct", "thresholds"} {
			if pinned[i] {
				return &PinnedError{Key: key}
			}
		}
	case RecipeSelect:
		if s.Augment == AugmentOn && s.CropPad == 0 {
			return setting.Errorf("augment", "on", "with crop_pad 0")
		}
		if s.Score != ScoreBlurred && s.Score != ScoreRaw {
			return setting.Errorf("score_images", s.Score, "want blurred or raw")
		}
		if err := s.Correct.check(); err != nil {
			return err
		}
		if err := s.Source.check(); err != nil {
			return err
		}
		if s.Source == SourceClips && s.Percentile != nil {
			return setting.Errorf("percentile", *s.Percentile, "thresholds from QCFS clips take no percentile")
		}
		if len(s.Candidates()) == 0 {
			return setting.Errorf("thresholds", s.Source, "no candidate left with the pinned percentile, initial membrane and encoder (thresholds from the ANN's activations need a percentile in [50, 100))")
		}
	default:
		return setting.Errorf("recipe", s.Recipe, "want select or paper")
	}
	if s.Signed && s.Reset != snn.ResetSubtract {
		return setting.Errorf("signed", true, "signed neurons need reset subtract, not %s", s.Reset)
	}
	if s.Burst < 0 || s.Burst > snn.MaxBurst {
		return setting.Errorf("burst", s.Burst, "want 0 to %d spikes per step", snn.MaxBurst)
	}
	if s.Burst > 1 && s.Reset != snn.ResetSubtract {
		return setting.Errorf("burst", s.Burst, "burst spikes need reset subtract, not %s", s.Reset)
	}
	if s.CalibImages < 0 || s.HeldOut < 0 || s.CropPad < 0 {
		return fmt.Errorf("convert: calibration images %d, held-out images %d and crop padding %d: want ≥ 0", s.CalibImages, s.HeldOut, s.CropPad)
	}
	return s.Options().Validate()
}

func (a Augmentation) check() error {
	switch a {
	case AugmentAuto, AugmentOn, AugmentOff:
		return nil
	}
	return setting.Errorf("augment", a, "want on, off or auto")
}

// PinNIRExact pins the settings to a network that NIR's semantics run
// exactly: reset to zero, initial membrane 0, direct input (the select
// recipe then chooses only the percentile). A pinned initial membrane or
// encoder other than those, or the paper's recipe (Poisson input), is an
// error.
func (s *Settings) PinNIRExact() error {
	if s.Recipe == RecipePaper {
		return setting.Errorf("recipe", s.Recipe, "fixes Poisson input, which NIR cannot express; NIR-exact conversion needs recipe select")
	}
	if s.Signed {
		return setting.Errorf("signed", true, "NIR's neurons have no negative spikes; NIR-exact conversion needs unsigned neurons")
	}
	if s.Burst > 1 {
		return setting.Errorf("burst", s.Burst, "NIR's neurons fire one spike per step; NIR-exact conversion needs burst 0 or 1")
	}
	if s.InitMembrane != nil && *s.InitMembrane != 0 {
		return setting.Errorf("init_membrane", *s.InitMembrane, "NIR-exact conversion needs 0 (NIR neurons start at 0)")
	}
	if s.Encoder != nil && *s.Encoder != snn.Direct {
		return setting.Errorf("encoder", *s.Encoder, "NIR-exact conversion needs direct input (NIR has no encoder)")
	}
	zero, direct := 0.0, snn.Direct
	s.Reset, s.InitMembrane, s.Encoder = snn.ResetZero, &zero, &direct
	return nil
}

// Options returns the simulation options the settings describe: T
// resolved, the pinned values where given, the paper's otherwise.
func (s Settings) Options() Options {
	o := Options{Timesteps: s.Timesteps, Leak: s.Leak, Reset: s.Reset, Encoder: snn.Poisson, Scale: s.Scale, Batch: s.Batch, Signed: s.Signed,
		Burst: s.Burst}
	if o.Timesteps == 0 {
		o.Timesteps = map[Recipe]int{RecipePaper: PaperTimesteps, RecipeSelect: SelectTimesteps}[s.Recipe]
	}
	if s.Percentile != nil {
		o.Percentile = *s.Percentile
	}
	if s.InitMembrane != nil {
		o.InitMembrane = *s.InitMembrane
	}
	if s.Encoder != nil {
		o.Encoder = *s.Encoder
	}
	return o
}

// ForQCFS returns s with what a QCFS ANN's select conversion takes by
// default filled in where s leaves it empty: thresholds from the clips
// (SourceClips) and the correction on (CorrectOn), which matches the spike
// rates to the quantised network's clipped activations and raised the
// 4-level conversion on Fashion-MNIST by 1.4 pp on validation. Other
// recipes are returned unchanged.
func (s Settings) ForQCFS() Settings {
	if s.Recipe != RecipeSelect {
		return s
	}
	if s.Source == "" {
		s.Source = SourceClips
	}
	if s.Correct == "" {
		s.Correct = CorrectOn
	}
	return s
}

// Candidates returns the select recipe's candidates: those of its
// threshold source (Source), pinned to the settings' percentile, initial
// membrane and encoder where given (an activations candidate pinned to the
// maximum is dropped: it needs a percentile).
func (s Settings) Candidates() []Candidate {
	var list []Candidate
	switch s.Source {
	case SourceClips:
		list = []Candidate{ClipsCandidate()}
	case SourceActivations:
	default:
		list = DefaultCandidates()
	}
	if s.Source == SourceActivations || s.Source == SourceAll {
		list = append(list, ActivationCandidates()...)
	}
	var out []Candidate
	for _, k := range list {
		if k.Activations && s.Percentile != nil && !(*s.Percentile >= 50 && *s.Percentile < 100) {
			continue
		}
		if s.Percentile != nil && !k.Clips {
			k.Percentile = *s.Percentile
		}
		if s.InitMembrane != nil {
			k.InitMembrane = *s.InitMembrane
		}
		if s.Encoder != nil {
			k.Encoder = *s.Encoder
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// Sampling returns how k calibration images per pass are drawn.
func (s Settings) Sampling(k int, norm imageset.Normalization) Sampling {
	on := s.Augment == AugmentOn || s.Augment == AugmentAuto && s.Recipe == RecipePaper
	sm := Sampling{Images: k, Norm: norm}
	if on {
		sm.CropPad, sm.Flip = s.CropPad, true
		sm.PerPass = s.Recipe == RecipePaper
	}
	return sm
}

// Shrunk reports a default count the images at hand made smaller: Used
// of What instead of the Default count of Key's setting. Resolve and
// CalibCount report it as a progress event's Detail.
type Shrunk struct {
	Key           string
	What          string
	Used, Default int
	Of            int // the images What holds
}

// CalibCount returns how many of the available images to calibrate on: a
// default count beyond them shrinks (and shrunk, when not nil, is told);
// a count given beyond them is an error.
func (s Settings) CalibCount(available int, what string, shrunk func(Shrunk) error) (int, error) {
	want := s.CalibImages
	if want == 0 {
		want = map[Recipe]int{RecipePaper: PaperCalibImages, RecipeSelect: SelectCalibImages}[s.Recipe]
	}
	if want <= available {
		return want, nil
	}
	if s.CalibImages > 0 {
		return 0, setting.Errorf("calib_images", s.CalibImages, "%s holds only %d images", what, available)
	}
	if shrunk != nil {
		if err := shrunk(Shrunk{Key: "calib_images", What: what, Used: available, Default: want, Of: available}); err != nil {
			return 0, err
		}
	}
	return available, nil
}

// Resolve returns the plan for a pool of n images (what names it in
// messages); shrunk, when not nil, is told of every default count the pool
// made smaller. Call Validate first.
func (s Settings) Resolve(n int, what string, norm imageset.Normalization, shrunk func(Shrunk) error) (Plan, error) {
	plan := Plan{Recipe: s.Recipe, Options: s.Options()}
	available := n
	if s.Recipe == RecipeSelect {
		held := s.HeldOut
		switch {
		case held > 0 && held >= n:
			return Plan{}, setting.Errorf("held_out", held, "%s holds only %d images, and some must be left to calibrate on", what, n)
		case held == 0 && SelectHeldOutImages >= n/2:
			held = max(1, n/3)
			if shrunk != nil {
				if err := shrunk(Shrunk{Key: "held_out", What: what, Used: held, Default: SelectHeldOutImages, Of: n}); err != nil {
					return Plan{}, err
				}
			}
		case held == 0:
			held = SelectHeldOutImages
		}
		plan.HeldOut, plan.Candidates, plan.Smooth = held, s.Candidates(), s.Score != ScoreRaw
		if plan.Correct = s.Correct; plan.Correct == "" {
			plan.Correct = CorrectOff
		}
		available -= held
	}
	k, err := s.CalibCount(available, what, shrunk)
	if err != nil {
		return Plan{}, err
	}
	plan.Sampling = s.Sampling(k, norm)
	return plan, nil
}
