package convert

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

	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

func selectSets(t *testing.T) (calib, held *tensor.Tensor) {
	t.Helper()
	calib, held = tensor.New(12, 2, 6, 6), tensor.New(40, 2, 6, 6)
	calib.RandUniform(rand.New(rand.NewPCG(31, 1)), -1, 1)
	held.RandUniform(rand.New(rand.NewPCG(32, 1)), -1, 1)
	return calib, held
}

func selectOpts(T int, cands []Candidate) SelectOptions {
	o := SelectOptions{Base: Defaults(), Candidates: cands}
	o.Base.Timesteps = T
	return o
}

func TestSelectScoresAllAndChoosesBest(t *testing.T) {
	m, _ := toyModel(t)
	calib, held := selectSets(t)
	var done []int
	o := selectOpts(12, append(DefaultCandidates(), ActivationCandidates()...))
	o.Progress = func(r progress.Report) error {
		if r.Total != 26 || r.Label != "candidates" {
			t.Errorf("progress %s total %d, want candidates of 26", r.Label, r.Total)
		}
		if s, ok := r.Detail.(Scored); !ok || s.Timesteps != 12 || s.HalfTimesteps != 6 {
			t.Errorf("progress detail %+v", r.Detail)
		} else if a, _ := r.Value("agreement"); a != s.Agreement {
			t.Errorf("agreement value %g, detail %g", a, s.Agreement)
		}
		done = append(done, r.Done)
		return nil
	}
	r, err := Select(context.Background(), m, calib, held, o, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	rec := r.Record
	if len(rec.Candidates) != 26 || len(done) != 26 || done[25] != 26 {
		t.Fatalf("%d candidates scored, progress %v", len(rec.Candidates), done)
	}
	if rec.Timesteps != 12 || rec.HalfTimesteps != 6 || rec.CalibrationImages != 12 || rec.HeldOutImages != 40 || rec.Rule != SelectRule {
		t.Fatalf("record header %+v", rec)
	}
	distinct := map[float64]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	calibSeed := rng.Uint64()
	for i, c := range rec.Candidates {
		// The shared first-layer observation gives each candidate the
		// thresholds of its own staged search.
		bo := o.Base
		bo.Staged = true
		if c.Activations {
			// The toy network is small enough for every pre-activation to
			// be kept: λ_l is the percentile of all of them, θ_l = λ_l/λ_{l−1}.
			want := activationClips(t, m, calib, c.Percentile)
			prev := float32(1)
			for l, lam := range want {
				if d := math.Abs(float64(c.Thresholds[l]*prev - lam)); d > 1e-5*float64(lam) {
					t.Fatalf("candidate %d: thresholds %v give clip %g at layer %d, want the percentile %g", i, c.Thresholds, c.Thresholds[l]*prev, l, lam)
				}
				prev = lam
			}
		} else {
			th, err := Thresholds(context.Background(), m, calib, bo.WithCandidate(c.Candidate), rand.New(rand.NewPCG(calibSeed, 0xca1b)))
			if err != nil || !reflect.DeepEqual(th, c.Thresholds) {
				t.Fatalf("candidate %d: thresholds %v, its own staged search %v (%v)", i, c.Thresholds, th, err)
			}
		}
		if c.Candidate != o.Candidates[i] {
			t.Fatalf("candidate %d is %+v, want %+v", i, c.Candidate, o.Candidates[i])
		}
		if c.Error != "" || len(c.Thresholds) != 2 || c.Agreement < 0 || c.Agreement > 1 || c.AgreementHalf < 0 || c.AgreementHalf > 1 {
			t.Fatalf("candidate %d: %+v", i, c)
		}
		// Scores are fractions of the 40 held-out images.
		if n := c.Agreement * 40; n != float64(int(n)) {
			t.Fatalf("candidate %d: agreement %g is not k/40", i, c.Agreement)
		}
		distinct[c.Agreement] = true
	}
	if len(distinct) < 2 {
		t.Fatal("every candidate scored the same; the test cannot tell a choice from a default")
	}
	best := rec.Candidates[rec.Chosen]
	for i, c := range rec.Candidates {
		if c.Agreement > best.Agreement || c.Agreement == best.Agreement && (c.AgreementHalf > best.AgreementHalf ||
			c.AgreementHalf == best.AgreementHalf && i < rec.Chosen) {
			t.Fatalf("candidate %d (%g, %g) beats the chosen %d (%g, %g)", i, c.Agreement, c.AgreementHalf, rec.Chosen,
				best.Agreement, best.AgreementHalf)
		}
	}
	if !reflect.DeepEqual(r.Thresholds, best.Thresholds) || r.Options.Percentile != best.Percentile ||
		r.Options.InitMembrane != best.InitMembrane || r.Options.Encoder != best.Encoder || r.Options.Timesteps != 12 {
		t.Fatalf("result options %+v thresholds %v, chosen %+v", r.Options, r.Thresholds, best)
	}
	// The record is JSON with snake_case keys.
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"half_timesteps"`, `"held_out_images"`, `"agreement_half"`, `"init_membrane"`, `"encoder":"direct"`} {
		if !strings.Contains(string(b), key) {
			t.Fatalf("record JSON lacks %s: %s", key, b)
		}
	}
}

// TestSelectAgreementMeasuresTheSNN: the score is the agreement of the
// spiking network with the ANN, so it must match an independent check
// with the chosen settings on the same held-out images (same seed: the
// scoring seed is the second value drawn from Select's rng).
func TestSelectAgreementMeasuresTheSNN(t *testing.T) {
	m, _ := toyModel(t)
	calib, held := selectSets(t)
	cands := []Candidate{{Percentile: 99.9, InitMembrane: 0.5, Encoder: snn.Direct}}
	r, err := Select(context.Background(), m, calib, held, selectOpts(10, cands), rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	calibSeed, scoreSeed := rng.Uint64(), rng.Uint64()
	// The thresholds are those of a staged search with the calibration seed.
	o := Defaults()
	o.Timesteps, o.Staged = 10, true
	th, err := Thresholds(context.Background(), m, calib, o.WithCandidate(cands[0]), rand.New(rand.NewPCG(calibSeed, 0xca1b)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(th, r.Thresholds) {
		t.Fatalf("selected thresholds %v, staged search %v", r.Thresholds, th)
	}
	net, _ := snn.New(m, r.Options.Config(r.Thresholds))
	res, err := net.Run(context.Background(), held, rand.New(rand.NewPCG(scoreSeed, 0x5e1)), snn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ann := argmaxRows(m.Forward(held, nnEval()))
	agree := 0
	for i, k := range argmaxRows(res.Logits()) {
		if k == ann[i] {
			agree++
		}
	}
	if got := r.Record.Candidates[0].Agreement; got != float64(agree)/40 {
		t.Fatalf("recorded agreement %g, independent check %d/40", got, agree)
	}
}

func TestSelectRestrictedAndDeterministic(t *testing.T) {
	m, _ := toyModel(t)
	calib, held := selectSets(t)
	cands := []Candidate{{Percentile: 99, Encoder: snn.Direct}, {InitMembrane: 0.5, Encoder: snn.Poisson}, {Percentile: 99.9, InitMembrane: 0.5}}
	run := func(seed uint64) *SelectResult {
		r, err := Select(context.Background(), m, calib, held, selectOpts(8, cands), rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		for i := range r.Record.Candidates {
			r.Record.Candidates[i].Seconds = 0
		}
		r.Record.Seconds = 0
		return r
	}
	a, b := run(4), run(4)
	if len(a.Record.Candidates) != 3 {
		t.Fatalf("%d candidates scored, 3 given", len(a.Record.Candidates))
	}
	for i, c := range a.Record.Candidates {
		if c.Candidate != cands[i] {
			t.Fatalf("candidate %d is %+v, want %+v", i, c.Candidate, cands[i])
		}
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different results:\n%+v\n%+v", a.Record, b.Record)
	}
	// The Poisson candidates' thresholds depend on the seed.
	if c := run(5); reflect.DeepEqual(c.Record.Candidates[1].Thresholds, a.Record.Candidates[1].Thresholds) {
		t.Fatal("another seed gave the same Poisson thresholds")
	}
}

func TestSelectCancelAndErrors(t *testing.T) {
	m, _ := toyModel(t)
	calib, held := selectSets(t)
	ctx, cancel := context.WithCancel(context.Background())
	o := selectOpts(6, nil)
	calls := 0
	o.Progress = func(progress.Report) error {
		calls++
		if calls == 2 {
			cancel()
		}
		return nil
	}
	if _, err := Select(ctx, m, calib, held, o, rand.New(rand.NewPCG(1, 1))); !errors.Is(err, context.Canceled) || calls != 2 {
		t.Fatalf("cancelled after 2 candidates: error %v after %d candidates", err, calls)
	}
	// The progress contract: the callback's error stops Select at once.
	stop := &progresstest.Recorder{T: t, StopAfter: 2}
	o.Progress = stop.Func()
	_, err := Select(context.Background(), m, calib, held, o, rand.New(rand.NewPCG(1, 1)))
	stop.CheckStopped(err)
	bad := map[string]func() error{
		"same set": func() error {
			_, err := Select(context.Background(), m, calib, calib, selectOpts(6, nil), rand.New(rand.NewPCG(1, 1)))
			return err
		},
		"no candidates": func() error {
			_, err := Select(context.Background(), m, calib, held, selectOpts(6, []Candidate{}), rand.New(rand.NewPCG(1, 1)))
			return err
		},
		"bad percentile": func() error {
			_, err := Select(context.Background(), m, calib, held, selectOpts(6, []Candidate{{Percentile: 10}}), rand.New(rand.NewPCG(1, 1)))
			return err
		},
		"bad init": func() error {
			_, err := Select(context.Background(), m, calib, held, selectOpts(6, []Candidate{{InitMembrane: 2}}), rand.New(rand.NewPCG(1, 1)))
			return err
		},
		"wrong shape": func() error {
			_, err := Select(context.Background(), m, calib, tensor.New(3, 1, 6, 6), selectOpts(6, nil), rand.New(rand.NewPCG(1, 1)))
			return err
		},
		"empty held-out": func() error {
			_, err := Select(context.Background(), m, calib, tensor.New(0, 2, 6, 6), selectOpts(6, nil), rand.New(rand.NewPCG(1, 1)))
			return err
		},
	}
	for name, f := range bad {
		if f() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A dead network: every candidate fails and Select says so.
	for _, p := range m.Params() {
		p.W.Zero()
	}
	_, err = Select(context.Background(), m, calib, held, selectOpts(6, []Candidate{{}, {Encoder: snn.Direct}}), rand.New(rand.NewPCG(1, 1)))
	if !errors.Is(err, ErrDeadLayer) {
		t.Fatalf("dead network: %v", err)
	}
}

func nnEval() nn.Mode { return nn.Mode{} }

// activationClips returns, for every hidden weighted layer of m, percentile
// p (nearest rank) of all its pre-activations on x, found by running the
// ANN's layers one by one.
func activationClips(t *testing.T, m *vgg.Model, x *tensor.Tensor, p float64) []float32 {
	t.Helper()
	hidden := len(m.Convs) + len(m.Linears) - 1
	var clips []float32
	h := x
	for _, layer := range m.Net.Layers {
		h = layer.Forward(h, nn.Mode{})
		_, conv := layer.(*nn.Conv2D)
		_, lin := layer.(*nn.Linear)
		if (conv || lin) && len(clips) < hidden {
			v := slices.Clone(h.Data)
			slices.Sort(v)
			clips = append(clips, v[int(math.Round(p/100*float64(len(v)-1)))])
		}
	}
	return clips
}

// ClipThresholds turns a QCFS ANN's clips into ratios θ_l = λ_l/λ_{l−1}
// and refuses a ReLU network and a clip that is not positive.
func TestClipThresholds(t *testing.T) {
	cfg := vgg.Config{Name: "q", Features: []vgg.Item{2, vgg.Pool, 3}, Hidden: []int{4}, Classes: 2, InChannels: 1, InHeight: 4, InWidth: 4, Levels: 4}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []float32{2, 6, 3} {
		m.Acts[i].Clip.W.Data[0] = v
	}
	th, err := ClipThresholds(m)
	if err != nil || fmt.Sprint(th) != "[2 3 0.5]" {
		t.Errorf("thresholds %v, %v; want [2 3 0.5]", th, err)
	}
	m.Acts[1].Clip.W.Data[0] = 0
	if _, err := ClipThresholds(m); err == nil {
		t.Error("a zero clip accepted")
	}
	p, err := m.Plain()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ClipThresholds(p); err == nil {
		t.Error("clips of a ReLU network accepted")
	}
}
