package attack

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/optim"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Encoding is the input path an inversion attacker uses.
type Encoding int

const (
	// ModelEncoding feeds images the way the model was converted to read
	// them (its own encoder).
	ModelEncoding Encoding = iota
	// PoissonEncoding draws signed Poisson spikes at every step; the
	// encoder is treated as the identity for the gradient (E[s] = x).
	PoissonEncoding
	// DirectEncoding feeds the analog image at every step, so the
	// gradient is exact (up to the surrogate).
	DirectEncoding
)

// String implements fmt.Stringer.
func (e Encoding) String() string {
	switch e {
	case ModelEncoding:
		return "model"
	case PoissonEncoding:
		return "poisson"
	case DirectEncoding:
		return "direct"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// MarshalText implements encoding.TextMarshaler.
func (e Encoding) MarshalText() ([]byte, error) {
	if e < ModelEncoding || e > DirectEncoding {
		return nil, fmt.Errorf("attack: invalid encoding %d", int(e))
	}
	return []byte(e.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (e *Encoding) UnmarshalText(b []byte) error {
	switch string(b) {
	case "model":
		*e = ModelEncoding
	case "poisson":
		*e = PoissonEncoding
	case "direct":
		*e = DirectEncoding
	default:
		return fmt.Errorf("unknown encoding %q (model, poisson or direct)", b)
	}
	return nil
}

// Rule is Attack 3's update rule.
type Rule int

const (
	// AdamRule optimises a tanh-bounded parametrisation of the image with
	// Adam under image priors (total variation, L2, jitter, flips, blur),
	// as DeepInversion does for ANNs.
	AdamRule Rule = iota
	// PopulationRule is BrainLeaks' second rule, adapted to signed rate
	// coding: the image x (a spike probability |x| of sign x) starts at 0
	// (no spikes); each step draws Population Poisson samples, weights
	// their surrogate gradients of the cost 1 − p_c + 0.01·mean|s| by
	// their costs, and takes an RMS-normalised step with momentum 0.9,
	// clamped to the pixel range.
	PopulationRule
)

// String implements fmt.Stringer.
func (r Rule) String() string {
	switch r {
	case AdamRule:
		return "adam"
	case PopulationRule:
		return "population"
	}
	return fmt.Sprintf("Rule(%d)", int(r))
}

// MarshalText implements encoding.TextMarshaler.
func (r Rule) MarshalText() ([]byte, error) {
	if r < AdamRule || r > PopulationRule {
		return nil, fmt.Errorf("attack: invalid rule %d", int(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Rule) UnmarshalText(b []byte) error {
	switch string(b) {
	case "adam":
		*r = AdamRule
	case "population", "brainleaks-v2":
		*r = PopulationRule
	default:
		return fmt.Errorf("unknown rule %q (adam or population)", b)
	}
	return nil
}

// InversionOptions configures Attack 3 and, with the Adam rule, Attack 4
// (RunANNInversion).
type InversionOptions struct {
	Rule Rule `json:"rule"`
	// Iterations per restart.
	Iterations int `json:"iterations"`
	// Restarts independent starts per image; the image whose fresh
	// simulation gives the lowest cross-entropy is kept.
	Restarts int `json:"restarts"`
	// LR is Adam's rate on the bounded parametrisation (AdamRule) or the
	// step of PopulationRule.
	LR float64 `json:"lr"`
	// Encoding is the attacker's input path.
	Encoding Encoding `json:"encoding"`
	// TV and L2 weigh the priors: the mean squared difference of
	// neighbouring pixels and the mean squared pixel (AdamRule).
	TV float64 `json:"tv"`
	L2 float64 `json:"l2"`
	// Jitter rolls the image by a random offset in [−Jitter, Jitter]
	// pixels along each axis before every step (AdamRule).
	Jitter int `json:"jitter"`
	// Flip mirrors the image horizontally at random before every step.
	Flip bool `json:"flip"`
	// BlurEvery blurs the image with radius-1 Gaussian passes every that
	// many steps (0: never).
	BlurEvery int `json:"blur_every"`
	// Population is the number of Poisson samples per PopulationRule step.
	Population int `json:"population,omitempty"`
	// Surrogate is the spike derivative (default snn.DefaultSurrogate).
	Surrogate snn.Surrogate `json:"surrogate"`
	// Avoid, when not nil, holds k image patterns [k, c, h, w] in the
	// model's normalised input space that the attacker keeps out of its
	// images (AdamRule): before every step, and once more at the end, each
	// image loses its component along the span of the zero-mean patterns,
	// then is clipped back into the pixel range. An attacker who knows a
	// trapdoor's triggers uses it to keep the optimisation off the
	// shortcuts the triggers planted. It is not serialised: an audit
	// records it through the attack's name.
	Avoid *tensor.Tensor `json:"-"`
	// AvoidOwn makes each image avoid only the pattern of its own target
	// class (Avoid then holds one pattern per class, in class order)
	// instead of all of them: the attacker removes the one shortcut to the
	// class it inverts and leaves the rest of the image free, which on a
	// trapdoored Fashion-MNIST network recovered more recognisable images
	// than removing all ten triggers.
	AvoidOwn bool `json:"-"`
	// avoidOf is, with AvoidOwn, each image's pattern (its target).
	avoidOf []int
}

// DefaultInversion returns Attack 3's defaults: Adam at 0.1 on the
// tanh-bounded image for 30 steps, the better of 2 restarts, TV 0.5, L2
// 0.01, jitter of 2 pixels, the model's own encoder. The step count is
// sized so that an audit of two T = 8 networks fits in minutes on two
// cores; Iterations and Restarts trade time for strength.
func DefaultInversion() InversionOptions {
	return InversionOptions{Rule: AdamRule, Iterations: 30, Restarts: 2, LR: 0.1, Encoding: ModelEncoding,
		TV: 0.5, L2: 0.01, Jitter: 2, Flip: false, Population: 7, Surrogate: snn.DefaultSurrogate()}
}

// DefaultPopulation returns BrainLeaks' second rule with its settings:
// 10 steps, 7 samples, step 1, one start, and the fast-sigmoid surrogate of
// the network BrainLeaks attacked. The surrogate matters: the rule starts
// from x = 0, where no input spikes arrive, and on a network whose
// membranes start at 0 the triangle surrogate's derivative is exactly 0
// there, so the rule would never move. The first RMS-normalised step is
// about 3.2·LR per pixel, so at LR 1 every pixel reaches the range's bound
// at once.
func DefaultPopulation() InversionOptions {
	return InversionOptions{Rule: PopulationRule, Iterations: 10, Restarts: 1, LR: 1, Encoding: PoissonEncoding,
		Population: 7, Surrogate: snn.NewSurrogate(snn.FastSigmoid)}
}

// Validate reports unusable options.
func (o InversionOptions) Validate() error {
	switch {
	case o.Rule < AdamRule || o.Rule > PopulationRule:
		return fmt.Errorf("attack: invalid rule %d", int(o.Rule))
	case o.Encoding < ModelEncoding || o.Encoding > DirectEncoding:
		return fmt.Errorf("attack: invalid encoding %d", int(o.Encoding))
	case o.Iterations < 1 || o.Iterations > MaxIterations:
		return fmt.Errorf("attack: %d iterations outside [1, %d]", o.Iterations, MaxIterations)
	case o.Restarts < 1 || o.Restarts > 1000:
		return fmt.Errorf("attack: %d restarts outside [1, 1000]", o.Restarts)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("attack: learning rate %g must be positive and finite", o.LR)
	case !(o.TV >= 0) || !(o.L2 >= 0) || math.IsInf(o.TV, 0) || math.IsInf(o.L2, 0):
		return fmt.Errorf("attack: prior weights TV %g, L2 %g must be non-negative and finite", o.TV, o.L2)
	case o.Jitter < 0 || o.Jitter > 64:
		return fmt.Errorf("attack: jitter %d outside [0, 64]", o.Jitter)
	case o.BlurEvery < 0 || o.BlurEvery > MaxIterations:
		return fmt.Errorf("attack: blur every %d steps outside [0, %d]", o.BlurEvery, MaxIterations)
	case o.Rule == PopulationRule && (o.Population < 1 || o.Population > 1000):
		return fmt.Errorf("attack: population %d outside [1, 1000]", o.Population)
	case o.Avoid != nil && o.Rule != AdamRule:
		return fmt.Errorf("attack: patterns to avoid need the Adam rule")
	case o.Avoid != nil && (len(o.Avoid.Shape) != 4 || o.Avoid.Shape[0] < 1):
		return fmt.Errorf("attack: patterns to avoid have shape %v, want [k, c, h, w] with k ≥ 1", o.Avoid.Shape)
	case o.AvoidOwn && o.Avoid == nil:
		return fmt.Errorf("attack: avoiding each target's own pattern needs the patterns")
	}
	if o.Avoid != nil {
		if err := finite(o.Avoid.Data); err != nil {
			return fmt.Errorf("attack: patterns to avoid: %w", err)
		}
	}
	return o.Surrogate.CheckGiven()
}

// attackNet returns the network the attacker differentiates: net itself,
// or net's model with the chosen encoder.
func attackNet(net *snn.Network, e Encoding) (*snn.Network, error) {
	cfg := net.Config
	switch e {
	case PoissonEncoding:
		cfg.Encoder = snn.Poisson
	case DirectEncoding:
		cfg.Encoder = snn.Direct
	default:
		return net, nil
	}
	if cfg.Encoder == net.Config.Encoder {
		return net, nil
	}
	return net.WithConfig(cfg)
}

// RunInversion runs Attack 3 against net: for every image, Restarts
// independent optimisations of the target class's cross-entropy on the
// time-averaged output, softmax(S/T), plus priors; see InversionOptions.
// The kept image of each target is the restart whose quantised image
// scores the lowest cross-entropy in a fresh simulation with the model's
// own encoder.
func RunInversion(ctx context.Context, net *snn.Network, norm imageset.Normalization, targets []int, o InversionOptions, rng *rand.Rand, pr progress.Func) (*Result, error) {
	cfg := net.Model.Config
	res, err := start(SNNInversion, o.Validate(), norm, cfg, targets)
	if err != nil {
		return nil, err
	}
	an, err := attackNet(net, o.Encoding)
	if err != nil {
		return nil, err
	}
	total := o.Restarts * o.Iterations
	if o.Rule == PopulationRule {
		total *= o.Population
	}
	step := stepCounter("attack 3", total, pr)
	err = bestOf(res, o.Restarts, 1/float64(net.Config.Timesteps), func(cand *Result) error {
		run := adamRun
		if o.Rule == PopulationRule {
			run = populationRun
		}
		x, err := run(ctx, an, norm, targets, o, rng, step)
		if err != nil {
			return err
		}
		return finishSNN(ctx, net, norm, x, cand, rng)
	})
	if err != nil {
		return nil, fmt.Errorf("attack 3, %w", err)
	}
	return res, nil
}

// stepCounter returns a step callback that reports progress.Report{Label:
// "steps"} of total to pr, its errors prefixed with the attack's name.
func stepCounter(name string, total int, pr progress.Func) func() error {
	done := 0
	return func() error {
		done++
		if err := pr.Report(progress.Report{Label: "steps", Done: done, Total: total}); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
}

// bestOf calls run restarts times, each time for a candidate result whose
// Pixels, Images and Logits run fills for res's targets, and keeps in res,
// per image, the candidate with the lowest cross-entropy
// CE(softmax(scale·logits), target) (the earliest on a tie); res.Loss
// becomes that cross-entropy. Its error names the failed restart.
func bestOf(res *Result, restarts int, scale float64, run func(cand *Result) error) error {
	n, per := res.Shape[0], res.Shape[1]*res.Shape[2]*res.Shape[3]
	cand := &Result{Targets: res.Targets, Pixels: make([]uint8, n*per), Images: tensor.New(res.Images.Shape...),
		Loss: make([]float64, n)}
	for i := range res.Loss {
		res.Loss[i] = math.Inf(1)
	}
	for r := range restarts {
		if err := run(cand); err != nil {
			return fmt.Errorf("restart %d: %w", r+1, err)
		}
		k := cand.Logits.Shape[1]
		if res.Logits == nil {
			res.Logits = tensor.New(n, k)
		}
		for i, t := range res.Targets {
			z := cand.Logits.Data[i*k : (i+1)*k]
			l := crossEntropy(z, t, scale)
			if l < res.Loss[i] {
				res.Loss[i] = l
				copy(res.Pixels[i*per:(i+1)*per], cand.Pixels[i*per:(i+1)*per])
				copy(res.Images.Data[i*per:(i+1)*per], cand.Images.Data[i*per:(i+1)*per])
				copy(res.Logits.Data[i*k:(i+1)*k], z)
			}
		}
	}
	return nil
}

// crossEntropy returns −log softmax(scale·z)_t in float64.
func crossEntropy(z []float32, t int, scale float64) float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, float64(v)*scale)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v)*scale - m)
	}
	return m + math.Log(s) - float64(z[t])*scale
}

// ceGrad writes ∂/∂S of Σ_i CE(softmax(S_i/T), t_i) into dS and returns
// each image's target probability.
func ceGrad(dS, S *tensor.Tensor, targets []int, T int) []float64 {
	p := make([]float64, len(targets))
	ceGradRows(dS.Data, S.Data, targets, S.Shape[1], T, p)
	return p
}

// ceGradRows is ceGrad on rows of k classes: S and dS [len(targets), k],
// each image's target probability into p.
func ceGradRows(dS, S []float32, targets []int, k, T int, p []float64) {
	inv := 1 / float64(T)
	for i, t := range targets {
		z := S[i*k : (i+1)*k]
		m := math.Inf(-1)
		for _, v := range z {
			m = max(m, float64(v)*inv)
		}
		var s float64
		for _, v := range z {
			s += math.Exp(float64(v)*inv - m)
		}
		for j, v := range z {
			q := math.Exp(float64(v)*inv-m) / s
			if j == t {
				p[i] = q
				q--
			}
			dS[i*k+j] = float32(q * inv)
		}
	}
}

// inputGrad returns ∂loss/∂x for the images x, the loss summed over the
// images; randomness (Poisson spikes) comes from rng. It must not keep x.
type inputGrad func(ctx context.Context, x *tensor.Tensor, rng *rand.Rand) (*tensor.Tensor, error)

// snnObjective is Attack 3's loss on net: Σ_i CE(softmax(S_i/T), t_i),
// differentiated with surrogate BPTT, one simulation per call.
func snnObjective(net *snn.Network, targets []int, sg snn.Surrogate) inputGrad {
	k, T := net.Model.Config.Classes, net.Config.Timesteps
	p := make([]float64, len(targets))
	// The loss of an image depends only on its own logits, so TrainStep
	// propagates each chunk back right after its forward pass and reuses
	// its currents; the gradient is Forward's and Backward's, bit for bit.
	return func(ctx context.Context, x *tensor.Tensor, rng *rand.Rand) (*tensor.Tensor, error) {
		_, dx, err := net.TrainStep(ctx, x, rng, snn.TrainOptions{Surrogate: sg, InputGradient: true, Frozen: true},
			func(i0, i1 int, logits, dS []float32) {
				ceGradRows(dS, logits, targets[i0:i1], k, T, p[i0:i1])
			})
		return dx, err
	}
}

// adamRun is one restart of the Adam rule on the SNN net; it returns the
// final images.
func adamRun(ctx context.Context, net *snn.Network, norm imageset.Normalization, targets []int, o InversionOptions, rng *rand.Rand, step func() error) (*tensor.Tensor, error) {
	if o.AvoidOwn {
		for i, t := range targets {
			if t >= o.Avoid.Shape[0] {
				return nil, fmt.Errorf("image %d: target %d has no pattern to avoid (%d patterns)", i, t, o.Avoid.Shape[0])
			}
		}
		o.avoidOf = targets
	}
	return adamLoop(ctx, net.Model.Config, norm, len(targets), o, rng, step, snnObjective(net, targets, o.Surrogate))
}

// adamLoop is one restart of the Adam rule for n images of a model of
// configuration cfg whose loss gradient obj gives; it returns the final
// images. It draws from rng the start, then per step the jitter, the flip
// and whatever obj draws.
func adamLoop(ctx context.Context, cfg vgg.Config, norm imageset.Normalization, n int, o InversionOptions, rng *rand.Rand, step func() error, obj inputGrad) (*tensor.Tensor, error) {
	c, h, w := cfg.InChannels, cfg.InHeight, cfg.InWidth
	lo, hi := pixelRange(norm)
	mid, half := (hi+lo)/2, (hi-lo)/2
	// x = mid + half·tanh(v); v starts at a small random value, so x
	// starts near mid-grey with noise.
	v := make([]float32, n*c*h*w)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * 0.5)
	}
	x := tensor.New(n, c, h, w)
	shifted := tensor.New(n, c, h, w)
	grad := make([]float32, len(v))
	adam := optim.NewAdam(o.LR, 0, false)
	var avoid func(x []float32) // removes the patterns to avoid, then clips
	if o.Avoid != nil {
		if got := o.Avoid.Shape[1:]; got[0] != c || got[1] != h || got[2] != w {
			return nil, fmt.Errorf("patterns to avoid are %d×%d×%d, the model's input %d×%d×%d", got[0], got[1], got[2], c, h, w)
		}
		per := c * h * w
		if o.avoidOf == nil {
			basis := zeroMeanBasis(o.Avoid.Data, o.Avoid.Shape[0], per)
			avoid = func(x []float32) { projectOut(x, basis, lo, hi) }
		} else {
			own := make([][][]float64, o.Avoid.Shape[0])
			for j := range own {
				own[j] = zeroMeanBasis(o.Avoid.Data[j*per:(j+1)*per], 1, per)
			}
			avoid = func(x []float32) {
				for i, t := range o.avoidOf {
					projectOut(x[i*per:(i+1)*per], own[t], lo, hi)
				}
			}
		}
	}
	for it := range o.Iterations {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for i, u := range v {
			x.Data[i] = mid + half*float32(math.Tanh(float64(u)))
		}
		if o.BlurEvery > 0 && it > 0 && it%o.BlurEvery == 0 {
			blurFloat(x.Data, n*c, h, w)
			reparametrise(v, x.Data, mid, half)
		}
		if avoid != nil {
			avoid(x.Data)
			reparametrise(v, x.Data, mid, half)
		}
		dy, dxs := 0, 0
		if o.Jitter > 0 {
			dy, dxs = rng.IntN(2*o.Jitter+1)-o.Jitter, rng.IntN(2*o.Jitter+1)-o.Jitter
		}
		flip := o.Flip && rng.IntN(2) == 1
		roll(shifted.Data, x.Data, n*c, h, w, dy, dxs, flip)
		gs, err := obj(ctx, shifted, rng)
		if err != nil {
			return nil, err
		}
		if err := finite(gs.Data); err != nil {
			return nil, fmt.Errorf("step %d: gradient: %w", it+1, err)
		}
		unroll(grad, gs.Data, n*c, h, w, dy, dxs, flip)
		priorGrad(grad, x.Data, n, c, h, w, float32(o.TV), float32(o.L2), mid)
		for i, u := range x.Data {
			r := (u - mid) / half
			grad[i] *= half * (1 - r*r)
		}
		adam.StepSlice("images", v, grad)
		if err := step(); err != nil {
			return nil, err
		}
	}
	for i, u := range v {
		x.Data[i] = mid + half*float32(math.Tanh(float64(u)))
	}
	if avoid != nil {
		avoid(x.Data)
	}
	return x, nil
}

// zeroMeanBasis returns an orthonormal basis (Gram–Schmidt in float64) of
// the span of the k patterns of per values each in p, each first made
// zero-mean; a pattern that the earlier ones span to within spannedTol of its
// norm adds nothing.
func zeroMeanBasis(p []float32, k, per int) [][]float64 {
	var basis [][]float64
	for j := range k {
		u := make([]float64, per)
		var m float64
		for i, v := range p[j*per : (j+1)*per] {
			u[i] = float64(v)
			m += float64(v)
		}
		m /= float64(per)
		var n0 float64
		for i := range u {
			u[i] -= m
			n0 += u[i] * u[i]
		}
		for _, b := range basis {
			d := fdot(u, b)
			for i := range u {
				u[i] -= d * b[i]
			}
		}
		n := math.Sqrt(fdot(u, u))
		if n <= spannedTol*math.Sqrt(n0) || n == 0 {
			continue
		}
		for i := range u {
			u[i] /= n
		}
		basis = append(basis, u)
	}
	return basis
}

// spannedTol is the share of a pattern's norm left after Gram–Schmidt
// below which the pattern counts as spanned: float32 patterns carry
// rounding of about 1e-7 of their values, well under it.
const spannedTol = 1e-5

// fdot is the float64 dot product of two equally long vectors.
func fdot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// projectOut removes from every image in x (len(x)/len(basis[0]) images,
// or all of x as one image for an empty basis) its component along the
// orthonormal basis, then clips it to [lo, hi].
func projectOut(x []float32, basis [][]float64, lo, hi float32) {
	per := len(x)
	if len(basis) > 0 {
		per = len(basis[0])
	}
	for p := 0; p+per <= len(x); p += per {
		img := x[p : p+per]
		for _, b := range basis {
			var d float64
			for i, v := range img {
				d += float64(v) * b[i]
			}
			for i := range img {
				img[i] -= float32(d * b[i])
			}
		}
		for i, v := range img {
			img[i] = max(lo, min(hi, v))
		}
	}
}

// reparametrise sets v to the bounded parametrisation of images x that
// were changed outside it (blurred, projected): r = (x − mid)/half clamped
// to ±boundLimit, v = atanh(r), and x = mid + half·r.
func reparametrise(v, x []float32, mid, half float32) {
	for i, u := range x {
		r := float64((u - mid) / half)
		r = max(-boundLimit, min(boundLimit, r))
		v[i] = float32(math.Atanh(r))
		x[i] = mid + half*float32(r)
	}
}

// boundLimit keeps atanh finite when a blurred pixel reaches the bound.
const boundLimit = 0.999

// priorGrad adds the gradients of the per-image priors
// tv·mean((x[y][x+1] − x[y][x])² + (x[y+1][x] − x[y][x])²) and
// l2·mean((x − mid)²) to g.
func priorGrad(g, x []float32, n, c, h, w int, tv, l2, mid float32) {
	per := float32(c * h * w)
	for p := range n * c {
		xp, gp := x[p*h*w:(p+1)*h*w], g[p*h*w:(p+1)*h*w]
		for y := range h {
			for xx := range w {
				i := y*w + xx
				if l2 > 0 {
					gp[i] += 2 * l2 * (xp[i] - mid) / per
				}
				if tv == 0 {
					continue
				}
				if xx+1 < w {
					d := 2 * tv * (xp[i+1] - xp[i]) / per
					gp[i+1] += d
					gp[i] -= d
				}
				if y+1 < h {
					d := 2 * tv * (xp[i+w] - xp[i]) / per
					gp[i+w] += d
					gp[i] -= d
				}
			}
		}
	}
}

// roll writes src shifted circularly by (dy, dx) pixels, then mirrored
// horizontally when flip, into dst; planes of h×w.
func roll(dst, src []float32, planes, h, w, dy, dx int, flip bool) {
	for p := range planes {
		s, d := src[p*h*w:(p+1)*h*w], dst[p*h*w:(p+1)*h*w]
		for y := range h {
			sy := ((y-dy)%h + h) % h
			for x := range w {
				tx := x
				if flip {
					tx = w - 1 - x
				}
				sx := ((tx-dx)%w + w) % w
				d[y*w+x] = s[sy*w+sx]
			}
		}
	}
}

// unroll is roll's adjoint: it maps a gradient with respect to roll's
// output back onto its input.
func unroll(dst, src []float32, planes, h, w, dy, dx int, flip bool) {
	for p := range planes {
		s, d := src[p*h*w:(p+1)*h*w], dst[p*h*w:(p+1)*h*w]
		for y := range h {
			sy := ((y-dy)%h + h) % h
			for x := range w {
				tx := x
				if flip {
					tx = w - 1 - x
				}
				sx := ((tx-dx)%w + w) % w
				d[sy*w+sx] = s[y*w+x]
			}
		}
	}
}

// blurFloat applies three passes of the kernel [1/6, 2/3, 1/6] along rows,
// then three along columns, edges replicated: the real-valued counterpart
// of GaussianBlur.
func blurFloat(x []float32, planes, h, w int) {
	buf := make([]float32, max(h, w))
	pass := func(get func(i int) float32, set func(i int, v float32), n int) {
		for i := range n {
			buf[i] = get(i)
		}
		for i := range n {
			l, r := buf[max(0, i-1)], buf[min(n-1, i+1)]
			set(i, buf[i]*(2.0/3)+(l+r)*(1.0/6))
		}
	}
	for p := range planes {
		pl := x[p*h*w : (p+1)*h*w]
		for range 3 {
			for y := range h {
				row := pl[y*w : (y+1)*w]
				pass(func(i int) float32 { return row[i] }, func(i int, v float32) { row[i] = v }, w)
			}
		}
		for range 3 {
			for xx := range w {
				pass(func(i int) float32 { return pl[i*w+xx] }, func(i int, v float32) { pl[i*w+xx] = v }, h)
			}
		}
	}
}

// populationRun is one start of the population rule.
func populationRun(ctx context.Context, net *snn.Network, norm imageset.Normalization, targets []int, o InversionOptions, rng *rand.Rand, step func() error) (*tensor.Tensor, error) {
	cfg := net.Model.Config
	n, k := len(targets), cfg.Classes
	c, h, w := cfg.InChannels, cfg.InHeight, cfg.InWidth
	per := c * h * w
	lo, hi := pixelRange(norm)
	x := tensor.New(n, c, h, w) // 0: no input spikes
	mom := make([]float32, len(x.Data))
	sq := make([]float32, len(x.Data))
	g := make([]float32, len(x.Data))
	wsum := make([]float64, n)
	p := make([]float64, n)
	T := net.Config.Timesteps
	const momentum, rmsDecay, eps, spikeCost = 0.9, 0.9, 1e-8, 0.01
	for it := range o.Iterations {
		clear(g)
		clear(wsum)
		for range o.Population {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			_, gs, err := net.TrainStep(ctx, x, rng, snn.TrainOptions{Surrogate: o.Surrogate, InputGradient: true, Frozen: true},
				func(i0, i1 int, logits, dS []float32) {
					ceGradRows(dS, logits, targets[i0:i1], k, T, p[i0:i1])
					// ∂(1 − p_c)/∂S = −p_c·∂(log p_c)/∂S = p_c·∂CE/∂S.
					for i := range i1 - i0 {
						for j := range k {
							dS[i*k+j] *= float32(p[i0+i])
						}
					}
				})
			if err != nil {
				return nil, err
			}
			if err := finite(gs.Data); err != nil {
				return nil, fmt.Errorf("step %d: gradient: %w", it+1, err)
			}
			for i := range n {
				cost := 1 - p[i]
				for j := i * per; j < (i+1)*per; j++ {
					// The spike-count cost's straight-through gradient.
					sgn := float32(0)
					if x.Data[j] > 0 {
						sgn = 1
					} else if x.Data[j] < 0 {
						sgn = -1
					}
					g[j] += float32(cost) * (gs.Data[j] + spikeCost*sgn/float32(per))
				}
				wsum[i] += cost
			}
			if err := step(); err != nil {
				return nil, err
			}
		}
		for i := range n {
			inv := float32(1 / max(wsum[i], 1e-12))
			for j := i * per; j < (i+1)*per; j++ {
				gj := g[j] * inv
				sq[j] = rmsDecay*sq[j] + (1-rmsDecay)*gj*gj
				mom[j] = momentum*mom[j] + gj/(float32(math.Sqrt(float64(sq[j])))+eps)
				x.Data[j] = max(lo, min(hi, x.Data[j]-float32(o.LR)*mom[j]))
			}
		}
	}
	return x, nil
}
