package encrypt_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/fit"
	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/optim"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// toyConfig is a tiny VGG: one 4-channel conv and a pool on 1×6×6 images,
// a hidden FC of 16, two classes. Its spiking version has two spiking
// layers (the conv and the hidden FC).
func toyConfig() vgg.Config {
	return vgg.Config{Name: "t", Features: []vgg.Item{4, vgg.A}, Hidden: []int{16}, Classes: 2,
		InChannels: 1, InHeight: 6, InWidth: 6}
}

func toyModel(t testing.TB, seed uint64) *vgg.Model {
	t.Helper()
	m, err := vgg.New(toyConfig(), rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// cloneModel returns a separate model with m's weights.
func cloneModel(t testing.TB, m *vgg.Model) *vgg.Model {
	t.Helper()
	c, err := vgg.New(m.Config, rand.New(rand.NewPCG(99, 99))) // weights overwritten below
	if err != nil {
		t.Fatal(err)
	}
	setWeights(t, c, weightsOf(m))
	return c
}

func weightsOf(m *vgg.Model) [][]float32 {
	var w [][]float32
	for _, p := range m.Params() {
		w = append(w, slices.Clone(p.W.Data))
	}
	return w
}

func setWeights(t testing.TB, m *vgg.Model, w [][]float32) {
	t.Helper()
	ps := m.Params()
	if len(ps) != len(w) {
		t.Fatalf("%d weight tensors for %d parameters", len(w), len(ps))
	}
	for i, p := range ps {
		if len(p.W.Data) != len(w[i]) {
			t.Fatalf("%s: %d values for %d", p.Name, len(w[i]), len(p.W.Data))
		}
		copy(p.W.Data, w[i])
	}
}

// toyThresholds make both spiking layers of the toy model fire on toy
// images at roughly 15–50 % of neurons per step (checked in
// TestRunLearns), so gradients flow through every layer.
var toyThresholds = []float32{0.5, 0.5}

func toySNN(t testing.TB, m *vgg.Model, enc snn.Encoder) *snn.Network {
	t.Helper()
	n, err := snn.New(m, snn.Config{Timesteps: 6, Leak: 1, Reset: snn.ResetSubtract, Encoder: enc,
		Thresholds: slices.Clone(toyThresholds)})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// toyImages returns n normalised images of two easily separated classes
// (image i has class i mod 2): class 0 has a bright top half, class 1 a
// bright bottom half, both with uniform noise of ±0.3.
func toyImages(n int, seed uint64) (*tensor.Tensor, []int32) {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := tensor.New(n, 1, 6, 6)
	y := make([]int32, n)
	for i := range n {
		c := i % 2
		y[i] = int32(c)
		for r := range 6 {
			for col := range 6 {
				v := -0.6 + 0.6*(rng.Float32()-0.5)
				if (r < 3) == (c == 0) {
					v += 1.2
				}
				x.Data[i*36+r*6+col] = v
			}
		}
	}
	return x, y
}

// pretrain fits the ANN m to toy images with full-batch Adam, so that it
// can serve as a teacher that agrees with the labels.
func pretrain(t testing.TB, m *vgg.Model, seed uint64) {
	t.Helper()
	x, y := toyImages(48, seed+100)
	opt := optim.NewAdam(1e-2, 0, false)
	for range 20 {
		m.ZeroGrad()
		z := m.Forward(x, nn.Mode{Train: true, RNG: rand.New(rand.NewPCG(1, 1))})
		_, g := loss.CrossEntropy(z, y)
		m.Backward(g, nn.Grad{Weights: true})
		opt.Step(m.Params())
	}
}

// ---------------------------------------------------------------------
// Loss

// Finite-difference settings for ∂L/∂S. Loss accumulates in float64 but
// reads S from float32 storage and forms z = κS in float32. The check
// therefore (a) divides by the step actually realised in float32,
// float32(s+h) − float32(s−h), not by 2h, which removes the representation
// error of the step itself, and (b) takes a fairly large h = 2⁻¹⁰ ≈ 1e-3,
// because only z_i differs between the two evaluations and its rounding
// (half an ulp, ≈ 6e-8·|z_i|, each time) then perturbs the quotient by at
// most ulp(κs)/(2κh) ≈ 6e-8·|s|/h ≈ 2e-4 of the component for |s| ≤ 3
// (nothing at κ = 1, where z = S exactly). The truncation error of the
// central difference, relative to the gradient, is about h²κ²/6 ≤ 1.2e-6
// (κ ≤ 2.7). A tolerance of 1e-3 of the largest component leaves a factor
// of five over the rounding bound; the measured worst case is 9e-5.
const (
	lossFDStep = 1.0 / 1024
	lossFDTol  = 1e-3
)

func TestLossGradientFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	labels := []int32{0, 4, 2, 2}
	for _, kappa := range []float64{1, 0.05, 2.7} {
		for _, m := range []float64{0, 0.7} {
			for _, tau := range []float64{1, 20} {
				name := fmt.Sprintf("κ=%g m=%g τ=%g", kappa, m, tau)
				s, a := tensor.New(4, 5), tensor.New(4, 5)
				s.RandUniform(rng, -3, 3)
				a.RandUniform(rng, -3, 3)
				f := func() float64 { lv, _ := encrypt.Loss(s, a, labels, kappa, m, tau); return lv.Total }
				_, g := encrypt.Loss(s, a, labels, kappa, m, tau)
				if !tensor.SameShape(g.Shape, s.Shape) {
					t.Fatalf("%s: gradient %v for S %v", name, g.Shape, s.Shape)
				}
				num := make([]float64, s.Len())
				var scale float64
				for i, old := range s.Data {
					sp, sm := float32(float64(old)+lossFDStep), float32(float64(old)-lossFDStep)
					s.Data[i] = sp
					lp := f()
					s.Data[i] = sm
					lm := f()
					s.Data[i] = old
					num[i] = (lp - lm) / (float64(sp) - float64(sm))
					scale = max(scale, math.Abs(num[i]))
				}
				if !(scale > 0) {
					t.Fatalf("%s: numeric gradient is zero", name)
				}
				var worst float64
				for i, v := range num {
					d := math.Abs(v - float64(g.Data[i]))
					worst = max(worst, d/scale)
					if d > lossFDTol*scale {
						t.Errorf("%s: ∂L/∂S[%d] analytic %g, numeric %g (|diff| %g > %g)", name, i, g.Data[i], v, d, lossFDTol*scale)
					}
				}
				t.Logf("%s: worst relative error %.2g", name, worst)
			}
		}
	}
}

func TestLossParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	s, a := tensor.New(4, 5), tensor.New(4, 5)
	s.RandUniform(rng, -3, 3)
	a.RandUniform(rng, -3, 3)
	labels := []int32{1, 0, 3, 4}
	const kappa, tau = 0.7, 4.0
	z := tensor.New(4, 5)
	for i, v := range s.Data {
		z.Data[i] = float32(kappa) * v
	}
	ce, _ := loss.CrossEntropy(z, labels)
	kd, _ := loss.Distill(z, a, tau)

	// m = 0: plain cross-entropy; the teacher is not needed.
	lv, g0 := encrypt.Loss(s, nil, labels, kappa, 0, tau)
	if lv.Total != lv.CE || lv.KD != 0 || lv.CE != ce {
		t.Errorf("m = 0: %+v, want Total = CE = %g and KD = 0", lv, ce)
	}
	if lvT, gT := encrypt.Loss(s, a, labels, kappa, 0, tau); lvT != lv || !slices.Equal(gT.Data, g0.Data) {
		t.Errorf("m = 0: a teacher changed the loss (%+v vs %+v) or its gradient", lvT, lv)
	}

	// 0 < m < 1: the mix of both parts.
	const m = 0.7
	lv, _ = encrypt.Loss(s, a, labels, kappa, m, tau)
	if lv.CE != ce || lv.KD != kd || math.Abs(lv.Total-((1-m)*ce+m*kd)) > 1e-12*lv.Total {
		t.Errorf("m = %g: %+v, want CE %g, KD %g, Total %g", m, lv, ce, kd, (1-m)*ce+m*kd)
	}
	if !(kd > 0) {
		t.Errorf("KD %g, want > 0 for a student that differs from its teacher", kd)
	}

	// m = 1: the cross-entropy's weight vanishes, so the labels affect
	// neither the total nor the gradient.
	lv1, g1 := encrypt.Loss(s, a, labels, kappa, 1, tau)
	lv2, g2 := encrypt.Loss(s, a, []int32{0, 0, 0, 0}, kappa, 1, tau)
	if lv1.Total != lv1.KD || lv1.KD != kd || lv2.Total != lv1.Total || !slices.Equal(g1.Data, g2.Data) {
		t.Errorf("m = 1: %+v with the labels, %+v with others; want Total = KD = %g and the same gradient", lv1, lv2, kd)
	}
	if lv1.CE != ce || lv2.CE == ce {
		t.Errorf("m = 1: CE %g and %g, want the cross-entropy still reported (%g for the true labels)", lv1.CE, lv2.CE, ce)
	}
}

// ---------------------------------------------------------------------
// Run learns

// objective evaluates the training loss of net on all of x in inference
// mode (no augmentation or dropout) with logit scale kappa, and the
// accuracy.
func objective(t testing.TB, teacher *vgg.Model, net *snn.Network, x *tensor.Tensor, y []int32, o encrypt.Options, kappa float64) (encrypt.LossValue, float64) {
	t.Helper()
	r, err := net.Run(context.Background(), x, rand.New(rand.NewPCG(9, 9)), snn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var a *tensor.Tensor
	m := 0.0
	if o.Distill {
		a, m = teacher.Forward(x, nn.Mode{}), o.Mix
	}
	lv, _ := encrypt.Loss(r.Logits(), a, y, kappa, m, o.Temperature)
	return lv, float64(loss.Correct(r.Logits(), y)) / float64(len(y))
}

// checkHistory checks the bookkeeping of a finished run's epochs.
func checkHistory(t *testing.T, st *encrypt.State, o encrypt.Options, layers int) {
	t.Helper()
	if st.Epoch != o.Epochs || st.Step != 0 || len(st.History) != o.Epochs {
		t.Fatalf("state at epoch %d step %d with %d epochs of history, want %d, 0, %d", st.Epoch, st.Step, len(st.History), o.Epochs, o.Epochs)
	}
	mix := 0.0
	if o.Distill {
		mix = o.Mix
	}
	for i, h := range st.History {
		if h.Epoch != i+1 || h.LR != o.LRAt(i) {
			t.Errorf("epoch %d: recorded as %d with lr %g, want lr %g", i+1, h.Epoch, h.LR, o.LRAt(i))
		}
		if want := (1-mix)*h.CE + mix*h.KD; math.Abs(h.Loss-want) > 1e-9*h.Loss || !(h.CE > 0) || (mix == 0) != (h.KD == 0) {
			t.Errorf("epoch %d: loss %g, CE %g, KD %g inconsistent with m = %g", i+1, h.Loss, h.CE, h.KD, mix)
		}
		if !(h.TrainAcc >= 0 && h.TrainAcc <= 1) || !(h.Seconds > 0) || !(h.ImagesPerSec > 0) {
			t.Errorf("epoch %d: accuracy %g, %g s, %g images/s", i+1, h.TrainAcc, h.Seconds, h.ImagesPerSec)
		}
		if len(h.SpikeRates) != layers {
			t.Fatalf("epoch %d: %d spike rates for %d layers", i+1, len(h.SpikeRates), layers)
		}
		for l, r := range h.SpikeRates {
			if !(r > 0.05 && r < 0.95) {
				t.Errorf("epoch %d: layer %d spikes at rate %g; the toy thresholds should keep it active", i+1, l, r)
			}
		}
	}
}

func checkMoved(t *testing.T, before, after *vgg.Model) {
	t.Helper()
	ch, err := encrypt.WeightChange(before, after)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != len(after.Params()) {
		t.Fatalf("%d changes for %d weights", len(ch), len(after.Params()))
	}
	for _, c := range ch {
		if !(c.Relative > 1e-3) {
			t.Errorf("weight %s moved by %g relative, want a visible change", c.Name, c.Relative)
		}
	}
}

// learnRun is one training run of the toy network on a separable task.
type learnRun struct {
	o                   encrypt.Options
	st                  *encrypt.State
	kappa0              float64 // Kappa before training
	before, after       encrypt.LossValue
	accBefore, accAfter float64 // on the training images, inference mode
	orig, m, teacher    *vgg.Model
}

// trainToy trains the toy network from seed: with plain cross-entropy and
// κ = 1 on a random initialisation, or, with distill, from an ANN trained
// first (as conversion starts from a trained ANN) with distillation from
// that ANN and logit scale match.
func trainToy(t testing.TB, seed uint64, distill bool) learnRun {
	return trainToyMix(t, seed, distill, false)
}

// trainToyMix is trainToy with mixup on or off (trainToy: off).
func trainToyMix(t testing.TB, seed uint64, distill, mixup bool) learnRun {
	t.Helper()
	ctx := context.Background()
	x, y := toyImages(48, seed)
	r := learnRun{o: encrypt.Defaults(), m: toyModel(t, seed)}
	r.o.Epochs, r.o.BatchSize, r.o.LR, r.o.Seed = 4, 8, 1e-2, seed
	if distill {
		pretrain(t, r.m, seed)
		r.teacher = cloneModel(t, r.m) // the ANN the SNN came from
		// No augmentation, so that the training images measure the
		// objective the run minimises; κ from the first 32 images.
		r.o.CropPad, r.o.Blur, r.o.Mixup, r.o.Scale, r.o.MatchImages = 0, false, mixup, encrypt.ScaleMatch, 32
		if !r.o.Distill {
			t.Fatalf("defaults %+v: want distillation", r.o)
		}
	} else {
		r.o.CropPad, r.o.Mixup, r.o.Distill, r.o.Scale = 1, mixup, false, encrypt.ScaleSum
	}
	r.orig = cloneModel(t, r.m)
	net := toySNN(t, r.m, snn.Direct)
	var err error
	if r.kappa0, err = encrypt.Kappa(ctx, r.teacher, net, x, r.o); err != nil {
		t.Fatal(err)
	}
	r.before, r.accBefore = objective(t, r.teacher, net, x, y, r.o, r.kappa0)
	if r.st, err = encrypt.Run(ctx, r.teacher, net, x, y, r.o, nil, encrypt.Hooks{}); err != nil {
		t.Fatal(err)
	}
	r.after, r.accAfter = objective(t, r.teacher, net, x, y, r.o, r.st.Kappa)
	return r
}

// TestRunLearns trains the toy network on a separable task. The margins
// were measured over seeds 1–24: without distillation the last epoch's
// mean loss is at most 20 % of the first's, the loss on the training
// images falls to at most 6 % of its start and accuracy reaches 100 %;
// with distillation from a trained teacher (the student starts close to
// it) they fall to at most 83 % and 81 %. Either way both spiking layers
// fire at 15–50 % of neurons per step. The results are the same with
// GOMAXPROCS=1.
func TestRunLearns(t *testing.T) {
	layers := len(toyThresholds)
	t.Run("cross-entropy", func(t *testing.T) {
		r := trainToy(t, 1, false)
		if r.kappa0 != 1 || r.st.Kappa != 1 {
			t.Errorf("κ = %g (Kappa %g) with ScaleSum, want 1", r.st.Kappa, r.kappa0)
		}
		checkHistory(t, r.st, r.o, layers)
		first, last := r.st.History[0], r.st.History[len(r.st.History)-1]
		if !(last.Loss < 0.5*first.Loss) {
			t.Errorf("training loss %g in the last epoch, %g in the first: want it at least halved", last.Loss, first.Loss)
		}
		if !(r.after.Total < 0.25*r.before.Total) || r.accAfter < 0.9 {
			t.Errorf("loss on the training images %g → %g (want < ¼), accuracy %g → %g (want ≥ 0.9)",
				r.before.Total, r.after.Total, r.accBefore, r.accAfter)
		}
		checkMoved(t, r.orig, r.m)
	})
	// With mixup the network trains on blends of the images, yet learns
	// the images themselves: over seeds 1–24 the loss on them fell to at
	// most 26 % of its start (49 % for one seed that started at 0.005)
	// and accuracy reached 100 %.
	t.Run("cross-entropy-mixup", func(t *testing.T) {
		r := trainToyMix(t, 1, false, true)
		if !(r.after.Total < 0.25*r.before.Total) || r.accAfter < 0.9 {
			t.Errorf("loss on the training images %g → %g (want < ¼), accuracy %g → %g (want ≥ 0.9)",
				r.before.Total, r.after.Total, r.accBefore, r.accAfter)
		}
		plain := trainToy(t, 1, false)
		if sameWeights(weightsOf(r.m), weightsOf(plain.m)) {
			t.Error("the same weights with and without mixup")
		}
	})
	t.Run("distill-match", func(t *testing.T) {
		r := trainToy(t, 1, true)
		if r.st.Kappa != r.kappa0 || !(r.kappa0 > 0) {
			t.Errorf("κ = %g, Kappa gave %g before training", r.st.Kappa, r.kappa0)
		}
		checkHistory(t, r.st, r.o, layers)
		first, last := r.st.History[0], r.st.History[len(r.st.History)-1]
		if !(last.Loss < 0.95*first.Loss) {
			t.Errorf("training loss %g in the last epoch, %g in the first: want a drop of more than 5 %%", last.Loss, first.Loss)
		}
		if !(r.after.Total < 0.95*r.before.Total) || r.accAfter < 0.9 {
			t.Errorf("loss on the training images %+v → %+v (want a drop of more than 5 %%), accuracy %g → %g (want ≥ 0.9)",
				r.before, r.after, r.accBefore, r.accAfter)
		}
		checkMoved(t, r.orig, r.m)
		// The teacher stays frozen.
		if ch, _ := encrypt.WeightChange(r.orig, r.teacher); slices.ContainsFunc(ch, func(c encrypt.LayerChange) bool { return c.Relative != 0 }) {
			t.Errorf("the teacher's weights changed: %+v", ch)
		}
	})
}

// ---------------------------------------------------------------------
// Resumption

// checkpoint is what a checkpoint file would hold: the state, a copy of
// the weights and the optimiser's buffers.
type checkpoint struct {
	epoch, step int
	kappa       float64
	history     []encrypt.EpochResult
	sums        fit.Sums
	weights     [][]float32
	opt         map[string]*tensor.Tensor
}

func save(st encrypt.State, m *vgg.Model) checkpoint {
	c := checkpoint{epoch: st.Epoch, step: st.Step, kappa: st.Kappa, history: slices.Clone(st.History), sums: st.Sums.Clone(), weights: weightsOf(m),
		opt: map[string]*tensor.Tensor{}}
	for k, v := range st.Optimizer.State() { // State already copies; clone anyway, as a file would
		c.opt[k] = v.Clone()
	}
	return c
}

// load rebuilds a model, its network and the state from c, as a resumed
// process would.
func (c checkpoint) load(t *testing.T, o encrypt.Options, enc snn.Encoder) (*vgg.Model, *snn.Network, *encrypt.State) {
	t.Helper()
	m := toyModel(t, 77) // different initial weights, all overwritten
	setWeights(t, m, c.weights)
	net := toySNN(t, m, enc) // reads the loaded weights
	opt := o.NewOptimizer()
	if err := opt.LoadState(c.opt); err != nil {
		t.Fatal(err)
	}
	return m, net, &encrypt.State{Epoch: c.epoch, Step: c.step, Kappa: c.kappa, Optimizer: opt, History: slices.Clone(c.history), Sums: c.sums.Clone()}
}

func sameWeights(a, b [][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
				return false
			}
		}
	}
	return true
}

// sameResult compares the training metrics of two epoch records (not the
// timings).
func sameResult(a, b encrypt.EpochResult) bool {
	return a.Epoch == b.Epoch && a.LR == b.LR && a.Loss == b.Loss && a.CE == b.CE && a.KD == b.KD &&
		a.TrainAcc == b.TrainAcc && slices.Equal(a.SpikeRates, b.SpikeRates)
}

// TestResumeBitExact interrupts a run in the middle of its second epoch,
// rebuilds everything from a copy of the saved state, and requires the
// resumed run to end with the uninterrupted run's weights bit for bit;
// likewise from the checkpoint saved at the end of the first epoch. Every
// random consumer is on: Poisson input, crop and flip, FC dropout, and the
// last batch is short.
func TestResumeBitExact(t *testing.T) {
	r := newResumeRun(t)
	end1, mid2 := r.interrupt(t)
	r.checkStopByProgress(t, mid2)
	for _, tc := range []struct {
		name string
		c    checkpoint
	}{{"mid-epoch", mid2}, {"end-of-epoch", end1}} {
		t.Run(tc.name, func(t *testing.T) { r.checkResume(t, tc.c) })
	}
	r.checkFreshOptimizerDiffers(t, mid2)
}

// resumeRun is TestResumeBitExact's training problem (44 Poisson-encoded
// images, 3 epochs of 6 steps of 8 images, the last step of 4) and the
// outcome of running it uninterrupted: its final state and weights.
type resumeRun struct {
	ctx     context.Context
	enc     snn.Encoder
	x       *tensor.Tensor
	y       []int32
	o       encrypt.Options
	steps   int
	teacher *vgg.Model
	ref     *encrypt.State
	want    [][]float32
}

// newResumeRun sets up the problem and runs it uninterrupted.
func newResumeRun(t *testing.T) *resumeRun {
	r := &resumeRun{ctx: context.Background(), enc: snn.Poisson}
	r.x, r.y = toyImages(44, 3) // 6 steps of 8, the last of 4
	o := encrypt.Defaults()
	o.Epochs, o.BatchSize, o.LR, o.CropPad, o.Flip, o.FCDropout, o.Seed, o.MatchImages = 3, 8, 1e-2, 1, true, 0.2, 5, 16
	r.o, r.steps = o, 6
	r.teacher = toyModel(t, 3)

	// Uninterrupted.
	mRef := toyModel(t, 3)
	ref, err := encrypt.Run(r.ctx, r.teacher, toySNN(t, mRef, r.enc), r.x, r.y, r.o, nil, encrypt.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	r.ref, r.want = ref, weightsOf(mRef)
	return r
}

// interrupt runs the problem again and cancels its context after step 3 of
// epoch 2. It checks the progress reports up to there and the two
// checkpoints saved (at the end of epoch 1 and on cancellation), and
// returns them.
func (r *resumeRun) interrupt(t *testing.T) (end1, mid2 checkpoint) {
	m := toyModel(t, 3)
	cctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	var saved []checkpoint
	var reports []progress.Report
	_, err := encrypt.Run(cctx, r.teacher, toySNN(t, m, r.enc), r.x, r.y, r.o, nil, encrypt.Hooks{
		Progress: func(p progress.Report) error {
			reports = append(reports, p)
			if p.Label == "epoch 2/3" && p.Done == 3 && p.Detail == nil {
				cancel()
			}
			return nil
		},
		Save: func(s encrypt.State) error { saved = append(saved, save(s, m)); return nil },
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err %v, want context.Canceled", err)
	}
	steps := r.steps
	// Progress: 6 steps and the end of epoch 1, then 3 steps of epoch 2.
	if e, ok := reports[min(steps, len(reports)-1)].Detail.(*encrypt.EpochResult); len(reports) != steps+1+3 || !ok || e.Epoch != 1 {
		t.Fatalf("%d progress reports, want %d with the end of epoch 1 at %d", len(reports), steps+4, steps)
	}
	for i, p := range reports {
		if p.Label != fmt.Sprintf("epoch %d/%d", i/(steps+1)+1, r.o.Epochs) || p.Total != steps || (p.Detail == nil && p.Done != i%(steps+1)+1) ||
			len(p.Values) != 4 || p.Values[0].Name != "loss" {
			t.Errorf("progress %d: %+v", i, p)
		}
	}
	if len(saved) != 2 {
		t.Fatalf("%d checkpoints, want one at the end of epoch 1 and one on cancellation", len(saved))
	}
	end1, mid2 = saved[0], saved[1]
	if end1.epoch != 1 || end1.step != 0 || len(end1.history) != 1 || mid2.epoch != 1 || mid2.step != 3 || len(mid2.history) != 1 {
		t.Fatalf("checkpoints at (epoch %d, step %d) and (%d, %d) with %d and %d epochs of history, want (1, 0) and (1, 3) with 1",
			end1.epoch, end1.step, mid2.epoch, mid2.step, len(end1.history), len(mid2.history))
	}
	if mid2.kappa != r.ref.Kappa || !sameResult(end1.history[0], r.ref.History[0]) {
		t.Fatalf("interrupted run: κ %g, first epoch %+v; uninterrupted: %g, %+v", mid2.kappa, end1.history[0], r.ref.Kappa, r.ref.History[0])
	}
	if sameWeights(end1.weights, mid2.weights) || sameWeights(mid2.weights, r.want) {
		t.Fatal("the checkpoints' weights should differ from each other and from the final ones")
	}
	return end1, mid2
}

// checkStopByProgress checks the progress contract: the callback's error
// at the report where interrupt cancelled stops the run as the
// cancellation did, with the same checkpoint mid2.
func (r *resumeRun) checkStopByProgress(t *testing.T, mid2 checkpoint) {
	m3 := toyModel(t, 3)
	rec := &progresstest.Recorder{T: t, StopAfter: r.steps + 1 + 3}
	var stopped []checkpoint
	_, err := encrypt.Run(r.ctx, r.teacher, toySNN(t, m3, r.enc), r.x, r.y, r.o, nil, encrypt.Hooks{Progress: rec.Func(),
		Save: func(s encrypt.State) error { stopped = append(stopped, save(s, m3)); return nil }})
	rec.CheckStopped(err)
	if len(stopped) != 2 || stopped[1].epoch != 1 || stopped[1].step != 3 || !sameWeights(stopped[1].weights, mid2.weights) {
		t.Fatalf("stopped by the callback: %d checkpoints, the last at (%d, %d)", len(stopped), stopped[len(stopped)-1].epoch, stopped[len(stopped)-1].step)
	}
}

// checkResume resumes the run from checkpoint c and checks that it ends
// with the uninterrupted run's weights, epoch count, κ and records of
// every epoch.
func (r *resumeRun) checkResume(t *testing.T, c checkpoint) {
	o := r.o
	m2, net2, st := c.load(t, o, r.enc)
	got, err := encrypt.Run(r.ctx, r.teacher, net2, r.x, r.y, o, st, encrypt.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if !sameWeights(weightsOf(m2), r.want) {
		t.Fatal("resumed weights differ from the uninterrupted run's")
	}
	if got.Epoch != o.Epochs || len(got.History) != o.Epochs || got.Kappa != r.ref.Kappa {
		t.Fatalf("resumed state at epoch %d with %d epochs of history, κ %g", got.Epoch, len(got.History), got.Kappa)
	}
	// Every epoch matches exactly, one resumed in its middle too: its sums
	// continue the saved ones, its time too.
	for e := range o.Epochs {
		if !sameResult(got.History[e], r.ref.History[e]) {
			t.Errorf("epoch %d: %+v, uninterrupted %+v", e+1, got.History[e], r.ref.History[e])
		}
	}
	if h := got.History[c.epoch]; !(h.Seconds > c.sums.Seconds) || c.step > 0 && c.sums.Seen != c.step*o.BatchSize {
		t.Errorf("resumed epoch took %g s, the saved sums %+v (at step %d)", h.Seconds, c.sums, c.step)
	}
}

// checkFreshOptimizerDiffers shows the check can fail: resuming from mid2
// with fresh optimiser buffers does not reproduce the run.
func (r *resumeRun) checkFreshOptimizerDiffers(t *testing.T, mid2 checkpoint) {
	m3, net3, st := mid2.load(t, r.o, r.enc)
	st.Optimizer = r.o.NewOptimizer()
	if _, err := encrypt.Run(r.ctx, r.teacher, net3, r.x, r.y, r.o, st, encrypt.Hooks{}); err != nil {
		t.Fatal(err)
	}
	if sameWeights(weightsOf(m3), r.want) {
		t.Fatal("resuming without the optimiser's state reproduced the run; the comparison is vacuous")
	}
}

// A Save hook error stops the run and is reported.
func TestSaveErrorStops(t *testing.T) {
	x, y := toyImages(16, 4)
	o := encrypt.Defaults()
	o.Epochs, o.BatchSize, o.Distill, o.Scale = 3, 8, false, encrypt.ScaleSum
	boom := errors.New("disk full")
	calls := 0
	st, err := encrypt.Run(context.Background(), nil, toySNN(t, toyModel(t, 4), snn.Direct), x, y, o, nil,
		encrypt.Hooks{Save: func(encrypt.State) error { calls++; return boom }})
	if !errors.Is(err, boom) || calls != 1 || st == nil || len(st.History) != 1 {
		t.Fatalf("err %v after %d saves, state %+v; want the save error after the first epoch", err, calls, st)
	}
}

// The schedule's rate is the one the optimiser applies: after a milestone
// that divides it by 10⁸ the weights all but stop moving.
func TestLRScheduleApplied(t *testing.T) {
	x, y := toyImages(32, 10)
	m := toyModel(t, 10)
	o := encrypt.Defaults()
	o.Epochs, o.BatchSize, o.LR, o.LRFactor, o.LRFractions = 2, 8, 1e-2, 1e8, []float64{0.5}
	o.Distill, o.Scale = false, encrypt.ScaleSum
	init := cloneModel(t, m)
	var afterFirst *vgg.Model
	var rates []float64
	st, err := encrypt.Run(context.Background(), nil, toySNN(t, m, snn.Direct), x, y, o, nil, encrypt.Hooks{
		Save: func(s encrypt.State) error {
			rates = append(rates, s.Optimizer.LR())
			if s.Epoch == 1 {
				afterFirst = cloneModel(t, m)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{o.LRAt(0), o.LRAt(1)}; want[1] != 1e-10 || !slices.Equal(rates, want) || st.Optimizer.LR() != want[1] {
		t.Fatalf("optimiser rates %v at the ends of the epochs, want %v", rates, want)
	}
	first, err := encrypt.WeightChange(init, afterFirst)
	if err != nil {
		t.Fatal(err)
	}
	second, err := encrypt.WeightChange(afterFirst, m)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if !(first[i].Relative > 1e-3) || !(second[i].Relative < 1e-6) {
			t.Errorf("%s moved by %g at lr 1e-2, by %g at lr 1e-10", first[i].Name, first[i].Relative, second[i].Relative)
		}
	}
}

// ---------------------------------------------------------------------
// Divergence

func TestDivergence(t *testing.T) {
	x, y := toyImages(32, 5)
	o := encrypt.Defaults()
	o.Epochs, o.BatchSize, o.Distill, o.Scale = 3, 8, false, encrypt.ScaleSum

	t.Run("learning rate", func(t *testing.T) {
		oo := o
		oo.LR = 1e30
		st, err := encrypt.Run(context.Background(), nil, toySNN(t, toyModel(t, 5), snn.Direct), x, y, oo, nil, encrypt.Hooks{})
		if !errors.Is(err, encrypt.ErrDiverged) || st == nil {
			t.Fatalf("err %v, state %v: want ErrDiverged with the state", err, st)
		}
		if prefix := fmt.Sprintf("epoch %d step %d: ", st.Epoch+1, st.Step+1); !strings.HasPrefix(err.Error(), prefix) || st.Epoch != 0 {
			t.Errorf("error %q, want it to name the failing step of epoch 1 (%q)", err, prefix)
		}
	})

	t.Run("infinite weight", func(t *testing.T) {
		// An infinite output weight, planted after step 2 of epoch 2, makes
		// the logits of step 3 NaN or infinite.
		m := toyModel(t, 5)
		net := toySNN(t, m, snn.Direct)
		st, err := encrypt.Run(context.Background(), nil, net, x, y, o, nil, encrypt.Hooks{Progress: func(p progress.Report) error {
			if p.Label == "epoch 2/3" && p.Done == 2 && p.Detail == nil {
				w := m.Linears[len(m.Linears)-1].Weight.W.Data
				for i := range w {
					w[i] = float32(math.Inf(1))
				}
				net.SyncWeights()
			}
			return nil
		}})
		if !errors.Is(err, encrypt.ErrDiverged) || !strings.HasPrefix(err.Error(), "epoch 2 step 3: loss ") {
			t.Fatalf("err %v, want ErrDiverged at the loss of epoch 2 step 3", err)
		}
		if st == nil || st.Epoch != 1 || st.Step != 2 || len(st.History) != 1 {
			t.Fatalf("state %+v, want epoch 1 (0-based) step 2 (0-based) with one finished epoch", st)
		}
	})
}

// ---------------------------------------------------------------------
// Kappa

// rmsSpread is the spread Kappa documents, written independently: the
// root over images of the mean of each image's variance over classes.
func rmsSpread(z *tensor.Tensor) float64 {
	n, c := z.Shape[0], z.Shape[1]
	var acc float64
	for i := range n {
		var s, s2 float64
		for _, v := range z.Data[i*c : (i+1)*c] {
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
		acc += s2/float64(c) - (s/float64(c))*(s/float64(c))
	}
	return math.Sqrt(acc / float64(n))
}

func TestKappa(t *testing.T) {
	ctx := context.Background()
	x, y := toyImages(20, 6)
	teacher := toyModel(t, 6)
	net := toySNN(t, toyModel(t, 6), snn.Poisson)
	o := encrypt.Defaults()
	o.Seed = 42

	for _, c := range []struct {
		scale encrypt.Scale
		want  float64
	}{{encrypt.ScaleSum, 1}, {encrypt.ScaleMean, 1.0 / 6}} {
		oo := o
		oo.Scale = c.scale
		if k, err := encrypt.Kappa(ctx, nil, net, x, oo); err != nil || k != c.want {
			t.Errorf("%s: κ %g, %v; want %g", c.scale, k, err, c.want)
		}
	}

	// ScaleThreshold: Π θ / T, from the network's configuration alone.
	oo := o
	oo.Scale = encrypt.ScaleThreshold
	wantT := 1.0
	for _, th := range net.Config.Thresholds {
		wantT *= float64(th)
	}
	wantT /= float64(net.Config.Timesteps)
	if k, err := encrypt.Kappa(ctx, nil, net, nil, oo); err != nil || math.Abs(k-wantT) > 1e-12*wantT || len(net.Config.Thresholds) < 2 {
		t.Errorf("threshold: κ %g, %v; want Π θ / T = %g", k, err, wantT)
	}

	// ScaleMatch: the ANN's spread over the SNN's on the first MatchImages
	// images (unaugmented, whatever training's augmentation), Poisson input
	// seeded as Kappa documents.
	o.Scale = encrypt.ScaleMatch
	for _, blur := range []bool{false, true} {
		for _, k := range []int{7, 20, 500} {
			oo := o
			oo.MatchImages, oo.Blur = k, blur
			got, err := encrypt.Kappa(ctx, teacher, net, x, oo)
			if err != nil {
				t.Fatal(err)
			}
			k = min(k, 20)
			xs := tensor.FromData(slices.Clone(x.Data[:k*36]), k, 1, 6, 6)
			r, err := net.Run(ctx, xs, rand.New(rand.NewPCG(oo.Seed, 0x4b)), snn.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := rmsSpread(teacher.Forward(xs, nn.Mode{})) / rmsSpread(r.Logits())
			if !(want > 0) || math.Abs(got-want) > 1e-6*want {
				t.Errorf("match on %d images, blur %v: κ %g, want %g", k, blur, got, want)
			}
			// Another Poisson seed gives another κ, so the seed is really used.
			oo.Seed++
			if other, err := encrypt.Kappa(ctx, teacher, net, x, oo); err != nil || other == got {
				t.Errorf("match on %d images: κ %g with seed %d and %g, %v with seed %d", k, got, o.Seed, other, err, oo.Seed)
			}
		}
	}

	// A silent SNN has constant logits: no κ can match, and Run refuses.
	silent, err := snn.New(toyModel(t, 6), snn.Config{Timesteps: 6, Leak: 1, Encoder: snn.Poisson, Thresholds: []float32{1e30, 1e30}})
	if err != nil {
		t.Fatal(err)
	}
	if k, err := encrypt.Kappa(ctx, teacher, silent, x, o); err == nil {
		t.Errorf("silent SNN: κ %g, want an error", k)
	}
	if _, err := encrypt.Run(ctx, teacher, silent, x, y, o, nil, encrypt.Hooks{}); err == nil {
		t.Error("Run accepted a silent SNN with logit scale match")
	}
}

// ---------------------------------------------------------------------
// BalancedSubset

func TestBalancedSubset(t *testing.T) {
	labels := []int32{0, 1, 2, 1, 1, 0, 2, 2, 0, 1, 2, 0, 1, 1, 0, 2} // 5 of class 0, 6 of 1, 5 of 2
	orig := slices.Clone(labels)
	pick := func(seed uint64, per int) ([]int, error) {
		return encrypt.BalancedSubset(labels, 3, per, rand.New(rand.NewPCG(seed, 0)))
	}
	first, err := pick(1, 4)
	if err != nil {
		t.Fatal(err)
	}
	differs := false
	for seed := uint64(1); seed <= 8; seed++ {
		idx, err := pick(seed, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(idx) != 12 || !slices.IsSorted(idx) || len(slices.Compact(slices.Clone(idx))) != len(idx) {
			t.Fatalf("seed %d: %v, want 12 distinct indices in increasing order", seed, idx)
		}
		count := make([]int, 3)
		for _, i := range idx {
			count[labels[i]]++
		}
		if !slices.Equal(count, []int{4, 4, 4}) {
			t.Fatalf("seed %d: %v has %v images per class, want 4 each", seed, idx, count)
		}
		again, _ := pick(seed, 4)
		if !slices.Equal(idx, again) {
			t.Fatalf("seed %d: %v, then %v", seed, idx, again)
		}
		differs = differs || !slices.Equal(idx, first)
	}
	if !differs {
		t.Error("eight seeds chose the same subset")
	}
	if all, err := pick(1, 5); err != nil || len(all) != 15 {
		t.Errorf("5 per class: %v, %v", all, err)
	}
	if !slices.Equal(labels, orig) {
		t.Error("BalancedSubset changed the labels")
	}
	for _, c := range []struct {
		name     string
		labels   []int32
		classes  int
		perClass int
	}{
		{"class short", labels, 3, 6},
		{"zero per class", labels, 3, 0},
		{"label too large", labels, 2, 1},
		{"negative label", []int32{0, -1, 1}, 2, 1},
		{"class without images", labels, 4, 1},
		{"no labels", nil, 2, 1},
	} {
		if idx, err := encrypt.BalancedSubset(c.labels, c.classes, c.perClass, rand.New(rand.NewPCG(1, 0))); err == nil {
			t.Errorf("%s: %v accepted", c.name, idx)
		}
	}
}

// ---------------------------------------------------------------------
// WeightChange

func TestWeightChange(t *testing.T) {
	a := toyModel(t, 8)
	b := cloneModel(t, a)
	ch, err := encrypt.WeightChange(a, b)
	if err != nil || len(ch) != len(a.Params()) {
		t.Fatalf("%v, %v", ch, err)
	}
	for _, c := range ch {
		if c.Relative != 0 {
			t.Errorf("identical weights: %s changed by %g", c.Name, c.Relative)
		}
	}
	p := b.Params()[1]
	for i := range p.W.Data {
		p.W.Data[i] *= -1 // ‖W − W₀‖ = 2‖W₀‖
	}
	ch, _ = encrypt.WeightChange(a, b)
	for i, c := range ch {
		want := 0.0
		if i == 1 {
			want = 2
		}
		if c.Name != a.Params()[i].Name || math.Abs(c.Relative-want) > 1e-12 {
			t.Errorf("%s changed by %g, want %g", c.Name, c.Relative, want)
		}
	}
	other := toyConfig()
	other.Hidden = []int{16, 8}
	m2, err := vgg.New(other, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := encrypt.WeightChange(a, m2); err == nil {
		t.Error("models of different shapes compared")
	}
}

// ---------------------------------------------------------------------
// Options

func TestOptionsValidate(t *testing.T) {
	if err := encrypt.Defaults().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	nan, inf := math.NaN(), math.Inf(1)
	for name, mutate := range map[string]func(*encrypt.Options){
		"epochs 0":              func(o *encrypt.Options) { o.Epochs = 0 },
		"epochs too many":       func(o *encrypt.Options) { o.Epochs = 100001 },
		"batch 0":               func(o *encrypt.Options) { o.BatchSize = 0 },
		"batch too large":       func(o *encrypt.Options) { o.BatchSize = 1<<14 + 1 },
		"lr 0":                  func(o *encrypt.Options) { o.LR = 0 },
		"lr negative":           func(o *encrypt.Options) { o.LR = -1e-4 },
		"lr NaN":                func(o *encrypt.Options) { o.LR = nan },
		"lr infinite":           func(o *encrypt.Options) { o.LR = inf },
		"weight decay negative": func(o *encrypt.Options) { o.WeightDecay = -1 },
		"weight decay NaN":      func(o *encrypt.Options) { o.WeightDecay = nan },
		"weight decay infinite": func(o *encrypt.Options) { o.WeightDecay = inf },
		"lr factor 0":           func(o *encrypt.Options) { o.LRFactor = 0 },
		"fractions decreasing":  func(o *encrypt.Options) { o.LRFractions = []float64{0.7, 0.5} },
		"fraction 1":            func(o *encrypt.Options) { o.LRFractions = []float64{1} },
		"mix negative":          func(o *encrypt.Options) { o.Mix = -0.1 },
		"mix above 1":           func(o *encrypt.Options) { o.Mix = 1.1 },
		"mix NaN":               func(o *encrypt.Options) { o.Mix = nan },
		"temperature 0":         func(o *encrypt.Options) { o.Temperature = 0 },
		"temperature NaN":       func(o *encrypt.Options) { o.Temperature = nan },
		"temperature infinite":  func(o *encrypt.Options) { o.Temperature = inf },
		"scale empty":           func(o *encrypt.Options) { o.Scale = "" },
		"scale unknown":         func(o *encrypt.Options) { o.Scale = "max" },
		"match without images":  func(o *encrypt.Options) { o.Scale, o.MatchImages = encrypt.ScaleMatch, 0 },
		"crop padding negative": func(o *encrypt.Options) { o.CropPad = -1 },
		"crop padding too wide": func(o *encrypt.Options) { o.CropPad = 65 },
		"surrogate γ 0":         func(o *encrypt.Options) { o.Surrogate.Gamma = 0 },
		"conv dropout 1":        func(o *encrypt.Options) { o.ConvDropout = 1 },
		"fc dropout negative":   func(o *encrypt.Options) { o.FCDropout = -0.1 },
		"memory budget":         func(o *encrypt.Options) { o.MemoryBudget = -1 },
	} {
		o := encrypt.Defaults()
		o.LRFractions = slices.Clone(o.LRFractions)
		mutate(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// MatchImages matters only for ScaleMatch.
	o := encrypt.Defaults()
	o.Scale, o.MatchImages = encrypt.ScaleSum, 0
	if err := o.Validate(); err != nil {
		t.Errorf("sum without match images: %v", err)
	}
}

func TestScaleText(t *testing.T) {
	for _, s := range []encrypt.Scale{encrypt.ScaleSum, encrypt.ScaleMean, encrypt.ScaleMatch, encrypt.ScaleThreshold} {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var got encrypt.Scale
		if err := got.UnmarshalText(b); err != nil || got != s {
			t.Errorf("%q: %q, %v", b, got, err)
		}
	}
	for _, bad := range []string{"", "Sum", "avg", "match "} {
		s := encrypt.ScaleMean
		if err := s.UnmarshalText([]byte(bad)); err == nil || s != encrypt.ScaleMean {
			t.Errorf("%q: accepted as %q (err %v)", bad, s, err)
		}
	}
	// Options survive JSON, the scale by name.
	o := encrypt.Defaults()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"logit_scale":"threshold"`) {
		t.Errorf("JSON %s lacks the scale by name", b)
	}
	var back encrypt.Options
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, o) {
		t.Errorf("JSON round trip: %+v, %v; want %+v", back, err, o)
	}
	if err := json.Unmarshal([]byte(`{"logit_scale":"median"}`), &back); err == nil {
		t.Error("unknown scale accepted from JSON")
	}
}

// ---------------------------------------------------------------------
// Run's input checks

func TestRunRejects(t *testing.T) {
	ctx := context.Background()
	x, y := toyImages(8, 9)
	teacher := toyModel(t, 9)
	o := encrypt.Defaults()
	o.Epochs, o.BatchSize = 1, 4
	bad := o
	bad.Epochs = 0
	wrongShape := tensor.New(8, 1, 6, 5)
	otherCfg := toyConfig()
	otherCfg.Classes = 3
	otherTeacher, err := vgg.New(otherCfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		teacher *vgg.Model
		x       *tensor.Tensor
		y       []int32
		o       encrypt.Options
		resume  *encrypt.State
	}{
		"invalid options":    {teacher, x, y, bad, nil},
		"image shape":        {teacher, wrongShape, y, o, nil},
		"no images":          {teacher, tensor.New(0, 1, 6, 6), nil, o, nil},
		"label count":        {teacher, x, y[:7], o, nil},
		"label out of range": {teacher, x, append(slices.Clone(y[:7]), 2), o, nil},
		"negative label":     {teacher, x, append(slices.Clone(y[:7]), -1), o, nil},
		"no teacher":         {nil, x, y, o, nil},
		"teacher classes":    {otherTeacher, x, y, o, nil},
		"resume κ 0":         {teacher, x, y, o, &encrypt.State{Kappa: 0, Optimizer: o.NewOptimizer()}},
		"resume κ NaN":       {teacher, x, y, o, &encrypt.State{Kappa: math.NaN(), Optimizer: o.NewOptimizer()}},
	} {
		if _, err := encrypt.Run(ctx, c.teacher, toySNN(t, toyModel(t, 9), snn.Direct), c.x, c.y, c.o, c.resume, encrypt.Hooks{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// ScaleMatch alone needs the teacher too; ScaleMean and ScaleThreshold
	// without distillation do not.
	noKD := o
	noKD.Distill, noKD.Scale = false, encrypt.ScaleMatch
	if _, err := encrypt.Run(ctx, nil, toySNN(t, toyModel(t, 9), snn.Direct), x, y, noKD, nil, encrypt.Hooks{}); err == nil {
		t.Error("logit scale match without a teacher accepted")
	}
	for _, sc := range []encrypt.Scale{encrypt.ScaleMean, encrypt.ScaleThreshold} {
		noKD.Scale = sc
		if _, err := encrypt.Run(ctx, nil, toySNN(t, toyModel(t, 9), snn.Direct), x, y, noKD, nil, encrypt.Hooks{}); err != nil {
			t.Errorf("plain cross-entropy without a teacher, scale %s: %v", sc, err)
		}
	}
}

// LossRows, chunk by chunk, gives Loss's gradient bit for bit, with and
// without distillation.
func TestLossRowsMatchesLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	n, k := 9, 5
	s, a := tensor.New(n, k), tensor.New(n, k)
	s.RandUniform(rng, -30, 30)
	a.RandUniform(rng, -10, 10)
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(rng.IntN(k))
	}
	for _, m := range []float64{0, 0.7} {
		_, want := encrypt.Loss(s, a, labels, 0.37, m, 20)
		got := make([]float32, n*k)
		for i0 := 0; i0 < n; i0 += 4 {
			i1 := min(n, i0+4)
			encrypt.LossRows(got[i0*k:i1*k], s.Data[i0*k:i1*k], a.Data[i0*k:i1*k], labels[i0:i1], k, n, 0.37, m, 20)
		}
		for i, v := range want.Data {
			if math.Float32bits(v) != math.Float32bits(got[i]) {
				t.Fatalf("m %g: gradient %d: %g in chunks, %g for the batch", m, i, got[i], v)
			}
		}
	}
}

// TestThresholdScale checks the claim behind ScaleThreshold: on a network
// converted by threshold balancing (max current, direct input, θ/2 initial
// membrane), κ·S with κ = Π θ / T approaches the ANN's logits as T grows.
// Each rate is within about 1/(2T) of its settled value (θ/2 start,
// subtractive reset) and the error passes through two spiking layers, so
// the test allows max |κS − z| ≤ 2/T of max |z|; measured 0.67/T, 0.61/T
// and 0.85/T at T = 10, 100 and 1000.
func TestThresholdScale(t *testing.T) {
	ctx := context.Background()
	m := toyModel(t, 4)
	pretrain(t, m, 4)
	x, _ := toyImages(32, 5)
	z := m.Forward(x, nn.Mode{})
	var zmax float64
	for _, v := range z.Data {
		zmax = max(zmax, math.Abs(float64(v)))
	}
	for _, T := range []int{10, 100, 1000} {
		co := convert.Defaults()
		co.Timesteps, co.Encoder, co.InitMembrane = T, snn.Direct, 0.5
		th, err := convert.Thresholds(ctx, m, x, co, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		net, err := snn.New(m, co.Config(th))
		if err != nil {
			t.Fatal(err)
		}
		k, err := encrypt.Kappa(ctx, nil, net, x, encrypt.Defaults())
		if err != nil {
			t.Fatal(err)
		}
		r, err := net.Run(ctx, x, rand.New(rand.NewPCG(1, 2)), snn.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i, s := range r.Logits().Data {
			worst = max(worst, math.Abs(k*float64(s)-float64(z.Data[i])))
		}
		t.Logf("T = %d: thresholds %v, κ %.4g, max |κS − z| = %.3g of max |z| %.3g", T, th, k, worst/zmax, zmax)
		if worst > 2/float64(T)*zmax {
			t.Errorf("T = %d: κS differs from the ANN's logits by %.3g of their largest magnitude, want ≤ 2/T = %.3g", T, worst/zmax, 2/float64(T))
		}
	}
}
