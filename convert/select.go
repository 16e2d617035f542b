package convert

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// DefaultCandidates returns the 20 settings Select tries by default:
// threshold percentile {max, 99.99, 99.9, 99.5, 99} × initial membrane
// {0, 0.5} × encoder {Poisson, Direct}. The reference's recipe (max, 0,
// Poisson) comes first, and the list varies the percentile fastest.
func DefaultCandidates() []Candidate {
	var c []Candidate
	for _, enc := range []snn.Encoder{snn.Poisson, snn.Direct} {
		for _, init := range []float64{0, 0.5} {
			for _, p := range []float64{0, 99.99, 99.9, 99.5, 99} {
				c = append(c, Candidate{Percentile: p, InitMembrane: init, Encoder: enc})
			}
		}
	}
	return c
}

// ActivationCandidates returns the 6 settings with thresholds from the
// ANN's activations (Candidate.Activations) that Settings.Source adds:
// percentile {99.9, 99.5, 99, 98, 97, 95}, initial membrane 0.5, direct
// input.
func ActivationCandidates() []Candidate {
	var c []Candidate
	for _, p := range []float64{99.9, 99.5, 99, 98, 97, 95} {
		c = append(c, Candidate{Percentile: p, InitMembrane: 0.5, Encoder: snn.Direct, Activations: true})
	}
	return c
}

// ClipsCandidate returns the candidate of a QCFS ANN: thresholds from its
// clips (Candidate.Clips), initial membrane 0.5 (the QCFS shift) and
// direct input.
func ClipsCandidate() Candidate {
	return Candidate{InitMembrane: 0.5, Encoder: snn.Direct, Clips: true}
}

// SelectRule describes how Select picks the winner.
const SelectRule = "highest agreement with the ANN's top-1 at T on held-out synthetic images; " +
	"ties broken by the agreement at T/2, then by the earlier candidate in the list"

// SelectOptions configures Select.
type SelectOptions struct {
	// Base gives every candidate's Timesteps (the target T), Leak, Reset,
	// Scale and Batch; its Percentile, InitMembrane and Encoder are
	// replaced by each candidate's, and its Progress is not called.
	Base Options
	// Candidates lists the settings to try, in order (nil: the
	// DefaultCandidates).
	Candidates []Candidate
	// Progress, if set, is called after each candidate has been scored,
	// with Label "candidates", the candidates done of the total, the
	// values "agreement" and "agreement_half" and a Scored as Detail. A
	// non-nil error from it stops Select (a *progress.StopError).
	Progress progress.Func
}

// Scored is the Detail of Select's progress reports: a candidate's score
// and the steps its agreements were measured at.
type Scored struct {
	CandidateScore
	Timesteps, HalfTimesteps int
}

// SelectResult is the outcome of Select.
type SelectResult struct {
	// Options are Base with the chosen candidate's settings (and Staged
	// set, as Select balances with staged searches), and Thresholds its
	// thresholds: snn.New(m, Options.Config(Thresholds)) builds the chosen
	// network.
	Options    Options
	Thresholds []float32
	// Record lists every candidate with its score (for the model card).
	Record Selection
}

// WithCandidate returns o with c's percentile, initial membrane and
// encoder.
func (o Options) WithCandidate(c Candidate) Options {
	o.Percentile, o.InitMembrane, o.Encoder = c.Percentile, c.InitMembrane, c.Encoder
	return o
}

// Select chooses conversion settings for a spiking network with
// Base.Timesteps steps without real data. For every candidate it balances
// the thresholds on calib (a staged search, see Options.Staged, with that
// candidate's percentile, encoder and initial membrane in the simulated
// network), then
// runs the spiking network on heldOut and scores how often its top-1 class
// agrees with the ANN's (m in inference mode) after T and after T/2 steps.
// It picks the winner by SelectRule. calib and heldOut are normalised
// [N, C, H, W] synthetic images and should be disjoint, so that the score
// is not measured on the images the thresholds were fitted to.
//
// All candidates share the same random numbers (one calibration seed and
// one scoring seed drawn from rng), so their scores differ by their
// settings, not by Poisson noise. A candidate whose balancing finds a dead
// layer is recorded with its error and never chosen; Select fails if no
// candidate can be scored, on a non-finite current and when ctx is done.
func Select(ctx context.Context, m *vgg.Model, calib, heldOut *tensor.Tensor, o SelectOptions, rng *rand.Rand) (*SelectResult, error) {
	start := time.Now()
	if err := checkSelectImages(m, calib, heldOut); err != nil {
		return nil, err
	}
	cands, base, err := selectCandidates(o)
	if err != nil {
		return nil, err
	}
	T := base.Timesteps
	half := max(1, T/2)
	annTop, err := ANNPredictions(ctx, m, heldOut)
	if err != nil {
		return nil, err
	}
	sel := &selection{m: m, calib: calib, heldOut: heldOut, annTop: annTop, half: half}
	sel.calibSeed, sel.scoreSeed = rng.Uint64(), rng.Uint64()
	if err := sel.observeEncoders(ctx, base, cands); err != nil {
		return nil, err
	}
	rec := Selection{Timesteps: T, HalfTimesteps: half, CalibrationImages: calib.Shape[0],
		HeldOutImages: heldOut.Shape[0], Rule: SelectRule, Chosen: -1}
	for i, c := range cands {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sc, err := sel.score(ctx, i, c, base.WithCandidate(c))
		if err != nil {
			return nil, err
		}
		rec.Candidates = append(rec.Candidates, sc)
		if sc.Error == "" && (rec.Chosen < 0 || better(sc, rec.Candidates[rec.Chosen])) {
			rec.Chosen = i
		}
		err = o.Progress.Report(progress.Report{Label: "candidates", Done: i + 1, Total: len(cands),
			Values: []progress.Value{{Name: "agreement", Value: sc.Agreement}, {Name: "agreement_half", Value: sc.AgreementHalf}},
			Detail: Scored{CandidateScore: sc, Timesteps: T, HalfTimesteps: half}})
		if err != nil {
			return nil, fmt.Errorf("convert: %w", err)
		}
	}
	if rec.Chosen < 0 {
		return nil, fmt.Errorf("%w for every candidate (first: %s)", ErrDeadLayer, rec.Candidates[0].Error)
	}
	rec.Seconds = time.Since(start).Seconds()
	best := rec.Candidates[rec.Chosen]
	return &SelectResult{Options: base.WithCandidate(best.Candidate), Thresholds: best.Thresholds, Record: rec}, nil
}

// checkSelectImages checks Select's image sets: calib and heldOut must be
// non-empty [N, C, H, W] tensors of m's input shape, and heldOut must not
// share its data with calib.
func checkSelectImages(m *vgg.Model, calib, heldOut *tensor.Tensor) error {
	if err := checkCalib(calib); err != nil {
		return err
	}
	if heldOut == nil || len(heldOut.Shape) != 4 || heldOut.Shape[0] == 0 {
		return fmt.Errorf("convert: held-out set is empty or not [N C H W]")
	}
	if calib == heldOut || &calib.Data[0] == &heldOut.Data[0] {
		return fmt.Errorf("convert: the held-out set is the calibration set; scores must come from other images")
	}
	mc := m.Config
	for _, x := range []*tensor.Tensor{calib, heldOut} {
		if x.Shape[1] != mc.InChannels || x.Shape[2] != mc.InHeight || x.Shape[3] != mc.InWidth {
			return fmt.Errorf("convert: images %v, model %s takes [N %d %d %d]", x.Shape, mc.Name, mc.InChannels, mc.InHeight, mc.InWidth)
		}
	}
	return nil
}

// selectCandidates returns the candidates Select tries (o.Candidates, or
// the DefaultCandidates when nil) and the options they share: o.Base
// without Progress and with Staged set. It fails on an empty list and on
// a candidate whose options do not validate.
func selectCandidates(o SelectOptions) ([]Candidate, Options, error) {
	cands := o.Candidates
	if cands == nil {
		cands = DefaultCandidates()
	}
	if len(cands) == 0 {
		return nil, Options{}, fmt.Errorf("convert: no candidate settings to select from")
	}
	base := o.Base
	base.Progress = nil
	base.Staged = true
	for i, c := range cands {
		if err := base.WithCandidate(c).Validate(); err != nil {
			return nil, Options{}, fmt.Errorf("convert: candidate %d %+v: %w", i, c, err)
		}
		if c.Activations && !(c.Percentile >= 50 && c.Percentile < 100) {
			return nil, Options{}, fmt.Errorf("convert: candidate %d %+v: thresholds from the ANN's activations need a percentile in [50, 100)", i, c)
		}
		if c.Clips && (c.Activations || c.Percentile != 0) {
			return nil, Options{}, fmt.Errorf("convert: candidate %d %+v: thresholds from QCFS clips take no percentile", i, c)
		}
	}
	return cands, base, nil
}

// selection is what Select's candidates share: the model, the image sets,
// the ANN's top-1 class of every held-out image, the step count of the
// second agreement, the two seeds drawn from Select's rng, and the first
// layer's observed currents per encoder.
type selection struct {
	m                    *vgg.Model
	calib, heldOut       *tensor.Tensor
	annTop               []int
	half                 int
	calibSeed, scoreSeed uint64
	first                map[snn.Encoder]*observer
	// activations holds a sorted sample of every hidden layer's ANN
	// pre-activations on calib, made on first use (Candidate.Activations).
	activations [][]float32
	// net is the model's spiking network, made for the first scored
	// candidate and reconfigured (WithConfig) for each of the others.
	net *snn.Network
}

// calibRNG returns a new generator for a candidate's calibration, the same
// for every candidate.
func (sel *selection) calibRNG() *rand.Rand { return rand.New(rand.NewPCG(sel.calibSeed, 0xca1b)) }

// observeEncoders fills sel.first. The first layer's currents depend only
// on the encoder and the noise, which all candidates share: they are
// observed once per encoder, for the first candidate with that encoder,
// in list order.
func (sel *selection) observeEncoders(ctx context.Context, base Options, cands []Candidate) error {
	sel.first = map[snn.Encoder]*observer{}
	for _, c := range cands {
		if sel.first[c.Encoder] != nil || c.Activations || c.Clips { // no balancing
			continue
		}
		ob, err := observeFirst(ctx, sel.m, sel.calib, base.WithCandidate(c), sel.calibRNG())
		if err != nil {
			return err
		}
		sel.first[c.Encoder] = ob
	}
	return nil
}

// score balances the thresholds of candidate i (c, with options opts) on
// the calibration set and measures its agreements on the held-out set. A
// dead layer is recorded in the score's Error, not returned; any other
// error is.
func (sel *selection) score(ctx context.Context, i int, c Candidate, opts Options) (CandidateScore, error) {
	t0 := time.Now()
	sc := CandidateScore{Candidate: c}
	var th []float32
	var err error
	switch {
	case c.Clips:
		th, err = ClipThresholds(sel.m)
		th = BurstThresholds(th, opts.Burst)
	case c.Activations:
		th, err = sel.activationThresholds(ctx, c.Percentile)
		th = BurstThresholds(th, opts.Burst)
	default:
		th, err = balanceStaged(ctx, sel.m, sel.calib, opts, sel.calibRNG(), sel.first[c.Encoder])
	}
	switch {
	case errors.Is(err, ErrDeadLayer):
		sc.Error = err.Error()
	case err != nil:
		return sc, fmt.Errorf("convert: candidate %d %+v: %w", i, c, err)
	default:
		sc.Thresholds = th
		if sel.net == nil {
			if sel.net, err = snn.New(sel.m, opts.Config(th)); err != nil {
				return sc, fmt.Errorf("convert: candidate %d %+v: %w", i, c, err)
			}
		}
		sc.Agreement, sc.AgreementHalf, err = agreement(ctx, sel.net, opts.Config(th), sel.heldOut, sel.annTop, sel.half,
			rand.New(rand.NewPCG(sel.scoreSeed, 0x5e1)))
		if err != nil {
			return sc, fmt.Errorf("convert: candidate %d %+v: %w", i, c, err)
		}
	}
	sc.Seconds = time.Since(t0).Seconds()
	return sc, nil
}

// observeFirst observes the first layer's input currents (maximum and
// histogram) in a staged simulation of calib.
func observeFirst(ctx context.Context, m *vgg.Model, calib *tensor.Tensor, o Options, rng *rand.Rand) (*observer, error) {
	net, st, err := stage(m, calib, o, rng)
	if err != nil {
		return nil, err
	}
	ob := &observer{hist: make([]int64, histBins)}
	if err := st.Current(ctx, func(cur []float32, _, _ int) { ob.add(cur) }); err != nil {
		return nil, fmt.Errorf("convert: balancing %s: %w", net.LayerNames()[0], err)
	}
	return ob, nil
}

// better reports whether a beats b under SelectRule, a coming later in the
// list than b.
func better(a, b CandidateScore) bool {
	if a.Agreement != b.Agreement {
		return a.Agreement > b.Agreement
	}
	return a.AgreementHalf > b.AgreementHalf
}

// annBatch is how many images one ANN forward pass takes.
const annBatch = 256

// ANNPredictions returns the ANN's top-1 class of every image of x
// (inference mode, batches of 256), or ctx's error when it is done.
func ANNPredictions(ctx context.Context, m *vgg.Model, x *tensor.Tensor) ([]int, error) {
	N := x.Shape[0]
	per := x.Len() / N
	top := make([]int, 0, N)
	for b0 := 0; b0 < N; b0 += annBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b1 := min(N, b0+annBatch)
		xb := tensor.FromData(x.Data[b0*per:b1*per], append([]int{b1 - b0}, x.Shape[1:]...)...)
		top = append(top, argmaxRows(m.Forward(xb, nn.Mode{}))...)
	}
	return top, nil
}

// agreement runs the spiking network of m with configuration c on x and
// returns the fraction of images whose top-1 class equals want after
// c.Timesteps and after half steps.
func agreement(ctx context.Context, base *snn.Network, c snn.Config, x *tensor.Tensor, want []int, half int, rng *rand.Rand) (float64, float64, error) {
	net, err := base.WithConfig(c)
	if err != nil {
		return 0, 0, err
	}
	r, err := net.Run(ctx, x, rng, snn.Options{Readouts: []int{half}})
	if err != nil {
		return 0, 0, err
	}
	frac := func(p *tensor.Tensor) float64 {
		n := 0
		for i, k := range argmaxRows(p) {
			if k == want[i] {
				n++
			}
		}
		return float64(n) / float64(len(want))
	}
	return frac(r.Logits()), frac(r.Potentials[0]), nil
}

// argmaxRows returns the index of the largest entry of every row of a
// [N, K] tensor (the first one on ties).
func argmaxRows(z *tensor.Tensor) []int {
	n, k := z.Shape[0], z.Shape[1]
	out := make([]int, n)
	for i := range n {
		out[i] = tensor.Argmax(z.Data[i*k : (i+1)*k])
	}
	return out
}

// activationSample bounds the pre-activations kept per layer for the
// percentiles of Candidate.Activations.
const activationSample = 1 << 20

// activationThresholds returns the thresholds θ_l = λ_l/λ_{l−1} whose
// clips λ_l are percentile p of the ANN's pre-activations on the
// calibration images (see Candidate.Activations). A clip that is not
// positive is a dead layer.
func (sel *selection) activationThresholds(ctx context.Context, p float64) ([]float32, error) {
	if sel.activations == nil {
		acts, err := preActivations(ctx, sel.m, sel.calib, rand.New(rand.NewPCG(sel.calibSeed, 0xac7)))
		if err != nil {
			return nil, err
		}
		sel.activations = acts
	}
	th := make([]float32, len(sel.activations))
	prev := 1.0
	for l, s := range sel.activations {
		lam := float64(percentileOf(s, p))
		if !(lam > 0) {
			return nil, &DeadLayerError{Layer: fmt.Sprintf("hidden layer %d", l), Index: l, Max: s[len(s)-1], Images: sel.calib.Shape[0]}
		}
		th[l] = float32(lam / prev)
		prev = lam
	}
	return th, nil
}

// ClipThresholds returns the thresholds θ_l = λ_l/λ_{l−1} (λ_{−1} = 1)
// of the QCFS ANN m's clips λ_l (Candidate.Clips). It fails for a ReLU
// network and on a clip that is not positive and finite.
func ClipThresholds(m *vgg.Model) ([]float32, error) {
	clips := m.Clips()
	if clips == nil {
		return nil, fmt.Errorf("convert: thresholds from clips need a QCFS ANN; %s has ReLU activations", m.Config.Name)
	}
	th := make([]float32, len(clips))
	prev := float32(1)
	for l, lam := range clips {
		if !(lam > 0) || math.IsInf(float64(lam), 0) {
			return nil, fmt.Errorf("convert: QCFS clip %d of %s is %g; want positive and finite", l, m.Config.Name, lam)
		}
		th[l] = lam / prev
		prev = lam
	}
	return th, nil
}

// percentileOf returns percentile p of the sorted sample s (nearest rank).
func percentileOf(s []float32, p float64) float32 {
	return s[int(math.Round(p/100*float64(len(s)-1)))]
}

// ActivationClips returns, for every hidden weighted layer of m, the clip
// λ_l at percentile p ∈ [0, 100] of the layer's outputs before its
// activation on the normalised images x, m run in inference mode (the
// values that Candidate.Activations takes its thresholds from; at most
// 2^20 of them per layer, drawn from rng, enter the percentile). It fails
// on a non-finite output and when ctx is done.
func ActivationClips(ctx context.Context, m *vgg.Model, x *tensor.Tensor, p float64, rng *rand.Rand) ([]float32, error) {
	if !(p >= 0 && p <= 100) {
		return nil, fmt.Errorf("convert: clip percentile %g outside [0, 100]", p)
	}
	acts, err := preActivations(ctx, m, x, rng)
	if err != nil {
		return nil, err
	}
	clips := make([]float32, len(acts))
	for l, s := range acts {
		clips[l] = percentileOf(s, p)
	}
	return clips, nil
}

// preActivations runs the ANN on x and returns, for every hidden weighted
// layer, a sorted sample of at most activationSample of its outputs
// before the activation (each value kept with the same probability,
// drawn from rng).
func preActivations(ctx context.Context, m *vgg.Model, x *tensor.Tensor, rng *rand.Rand) ([][]float32, error) {
	hidden := hiddenLayers(m)
	N := x.Shape[0]
	// The layers' sizes per image fix the keep probability up front.
	keep := make([]float64, hidden)
	all := make([][]float32, hidden)
	err := eachHiddenOutput(ctx, m, x, annBatch, func(l int, h *tensor.Tensor, n int) error {
		if keep[l] == 0 {
			keep[l] = min(1, activationSample/(float64(h.Len())/float64(n)*float64(N)))
		}
		for _, v := range h.Data {
			if keep[l] == 1 || rng.Float64() < keep[l] {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Errorf("%w in the ANN's hidden layer %d", ErrNonFinite, l)
				}
				all[l] = append(all[l], v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for l := range all {
		if len(all[l]) == 0 {
			return nil, fmt.Errorf("convert: no pre-activation of hidden layer %d sampled", l)
		}
		slices.Sort(all[l])
	}
	return all, nil
}
