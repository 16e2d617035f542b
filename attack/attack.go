package attack

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Method names one of the attacks.
type Method int

const (
	// Visualize is Attack 1: re-convert the SNN to an ANN and run class
	// visualisation (gradient ascent on a class logit, 8-bit images, blur).
	Visualize Method = 1
	// SNNGradient is Attack 2: gradients taken through the SNN with the
	// surrogate, averaged over time at conv1's output and deconvolved.
	SNNGradient Method = 2
	// SNNInversion is Attack 3: a white-box inversion of the SNN itself
	// with Adam, image priors and restarts.
	SNNInversion Method = 3
	// ANNInversion is Attack 4: Attack 3's Adam rule and priors against
	// the re-converted ANN, with exact gradients.
	ANNInversion Method = 4
	// NESAttack is Attack 5: gradient-free natural-evolution-strategies
	// estimates from the SNN's output alone, no surrogate.
	NESAttack Method = 5
)

// String implements fmt.Stringer.
func (m Method) String() string {
	switch m {
	case Visualize:
		return "attack1"
	case SNNGradient:
		return "attack2"
	case SNNInversion:
		return "attack3"
	case ANNInversion:
		return "attack4"
	case NESAttack:
		return "attack5"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// Describe returns a one-line description of the method.
func (m Method) Describe() string {
	switch m {
	case Visualize:
		return "re-converted ANN, class visualisation"
	case SNNGradient:
		return "surrogate gradient at conv1, deconvolved"
	case SNNInversion:
		return "SNN-aware inversion with Adam, priors and restarts"
	case ANNInversion:
		return "re-converted ANN, Attack 3's optimiser and priors"
	case NESAttack:
		return "gradient-free NES estimates on the SNN's output"
	}
	return m.String()
}

// MarshalText implements encoding.TextMarshaler.
func (m Method) MarshalText() ([]byte, error) {
	if m < Visualize || m > NESAttack {
		return nil, fmt.Errorf("attack: invalid method %d", int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it accepts "1" … "5",
// "attack1" … "attack5" and "nes" for attack 5.
func (m *Method) UnmarshalText(b []byte) error {
	switch string(b) {
	case "1", "attack1":
		*m = Visualize
	case "2", "attack2":
		*m = SNNGradient
	case "3", "attack3":
		*m = SNNInversion
	case "4", "attack4":
		*m = ANNInversion
	case "5", "attack5", "nes":
		*m = NESAttack
	default:
		return fmt.Errorf("unknown method %q (1 to 5)", b)
	}
	return nil
}

// Result is what an attack produces.
type Result struct {
	Method Method
	// Targets holds each image's target class.
	Targets []int
	// Pixels are the attack images as 8-bit pixels, [N, C, H, W] planar,
	// the form they are saved and scored in.
	Pixels []uint8
	// Shape is [N, C, H, W].
	Shape [4]int
	// Images are Pixels normalised as the attacked model's input,
	// [N, C, H, W]: the images its Logits are for.
	Images *tensor.Tensor
	// Logits are the attacked model's outputs for the quantised images
	// (the ANN's for Attacks 1 and 4, the SNN's S for 2, 3 and 5).
	Logits *tensor.Tensor
	// Loss is each image's final objective value.
	Loss []float64
}

// Hits returns the fraction of images the attacked model itself assigns
// to their target class (argmax of Logits; a tie counts as a miss).
func (r *Result) Hits() float64 {
	if r.Logits == nil || len(r.Targets) == 0 {
		return 0
	}
	k := r.Logits.Shape[1]
	var hit int
	for i, c := range r.Targets {
		row := r.Logits.Data[i*k : (i+1)*k]
		best := true
		for j, v := range row {
			if j != c && v >= row[c] {
				best = false
				break
			}
		}
		if best {
			hit++
		}
	}
	return float64(hit) / float64(len(r.Targets))
}

// Targets returns perClass images' worth of target classes for each of
// the classes, class-major: 0 … 0, 1 … 1, …
func Targets(classes, perClass int) []int {
	t := make([]int, 0, classes*perClass)
	for c := range classes {
		for range perClass {
			t = append(t, c)
		}
	}
	return t
}

// Limits on the options, far beyond any sensible use.
const (
	MaxIterations = 100_000
	MaxImages     = 1 << 16
)

func checkTargets(targets []int, classes int) error {
	if len(targets) == 0 || len(targets) > MaxImages {
		return fmt.Errorf("attack: %d target images, want 1 to %d", len(targets), MaxImages)
	}
	for i, c := range targets {
		if c < 0 || c >= classes {
			return fmt.Errorf("attack: target %d of image %d outside [0, %d)", c, i, classes)
		}
	}
	return nil
}

// randomPixels fills p with uniform integers in [0, 255], the U(0, 1)
// initialisation of the paper's algorithms in pixel terms.
func randomPixels(p []uint8, rng *rand.Rand) {
	for i := range p {
		p[i] = uint8(rng.IntN(256))
	}
}

// normalize writes the normalised value of every pixel into x, computed
// in float32 (imageset's Float32Value) as the published attacks were.
func normalize(x []float32, p []uint8, norm imageset.Normalization) {
	for i, v := range p {
		x[i] = norm.Float32Value(v)
	}
}

// quantize maps normalised values back to pixels: p = x·Std + Mean,
// clipped to [0, 1], times 255, rounded half to even.
func quantize(p []uint8, x []float32, norm imageset.Normalization) {
	for i, v := range x {
		q := float64(v)*norm.Std + norm.Mean
		q = max(0, min(1, q))
		p[i] = uint8(math.RoundToEven(q * 255))
	}
}

// pixelRange returns the normalised values of pixels 0 and 255.
func pixelRange(norm imageset.Normalization) (lo, hi float32) {
	return norm.Float32Value(0), norm.Float32Value(255)
}

func finite(v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: value %d is %g", ErrNonFinite, i, x)
		}
	}
	return nil
}

// start checks an attack's options, normalisation and targets for a model
// of configuration cfg and returns an empty result for its images.
func start(method Method, optionsErr error, norm imageset.Normalization, cfg vgg.Config, targets []int) (*Result, error) {
	if optionsErr != nil {
		return nil, optionsErr
	}
	if err := norm.Validate(); err != nil {
		return nil, err
	}
	if err := checkTargets(targets, cfg.Classes); err != nil {
		return nil, err
	}
	n, c, h, w := len(targets), cfg.InChannels, cfg.InHeight, cfg.InWidth
	return &Result{Method: method, Targets: append([]int(nil), targets...), Pixels: make([]uint8, n*c*h*w),
		Shape: [4]int{n, c, h, w}, Images: tensor.New(n, c, h, w), Loss: make([]float64, n)}, nil
}
