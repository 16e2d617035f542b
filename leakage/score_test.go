package leakage

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

// fakeEvaluator returns fixed logits and features, whatever the images.
type fakeEvaluator struct {
	logits, features *tensor.Tensor
	err              error
	calls            int
}

func (f *fakeEvaluator) Evaluate(ctx context.Context, images *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor, error) {
	f.calls++
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if f.err != nil {
		return nil, nil, f.err
	}
	return f.logits, f.features, nil
}

// handLogits are six rows over K = 5 classes with their targets; the
// comment of each row counts the other classes whose logit is ≥ the
// target's (its rank).
var handLogits = []float32{
	0, 1, 5, 2, 3, // target 2: rank 0, top-1 and top-3 hit
	1, 3, 2, 0, 0, // target 0: rank 2 (3, 2), top-3 hit only
	4, 3, 2, 1, 0, // target 4: rank 4, no hit
	2, 2, 0, 0, 0, // target 1: rank 1 (the tie with class 0), top-3 hit only
	1, 1, 1, 1, 0, // target 0: rank 3 (three ties), no hit
	0, 0, 0, 0, 0, // target 3: rank 4 (all equal), no hit
}

var handTargets = []int{2, 0, 4, 1, 0, 3}

// softmaxAt is exp(z_t) / Σ_j exp(z_j), without a shift (small logits).
func softmaxAt(row []float32, t int) float64 {
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v))
	}
	return math.Exp(float64(row[t])) / s
}

func TestClassifyScoresByHand(t *testing.T) {
	logits := tensor.FromData(handLogits, 6, 5)
	top1, top3, conf, err := ClassifyScores(logits, handTargets)
	if err != nil {
		t.Fatal(err)
	}
	if top1 != 1.0/6 || top3 != 3.0/6 {
		t.Errorf("top1 %v, top3 %v, want 1/6, 3/6", top1, top3)
	}
	var want float64
	for i, tg := range handTargets {
		want += softmaxAt(handLogits[i*5:(i+1)*5], tg)
	}
	want /= 6
	if math.Abs(conf-want) > 1e-15 {
		t.Errorf("confidence %.17g, want %.17g", conf, want)
	}
	// Row 5 alone: all logits equal, probability exactly 1/5.
	_, _, conf, err = ClassifyScores(tensor.FromData(handLogits[25:], 1, 5), []int{3})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(conf-0.2) > 1e-15 {
		t.Errorf("uniform row: confidence %v, want 0.2", conf)
	}
}

func TestClassifyScoresEdges(t *testing.T) {
	// Large logits: the softmax is shifted by the row maximum, so no overflow.
	top1, top3, conf, err := ClassifyScores(tensor.FromData([]float32{1000, 0, -1000, 0}, 2, 2), []int{0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if top1 != 0.5 || top3 != 1 {
		t.Errorf("K = 2: top1 %v, top3 %v, want 0.5, 1 (K ≤ 3 makes every row a top-3 hit)", top1, top3)
	}
	if want := (1 + 1/(1+math.Exp(1000))) / 2; math.Abs(conf-want) > 1e-15 || math.IsNaN(conf) {
		t.Errorf("confidence %v, want %v", conf, want)
	}
	// K = 1: the only class is always first.
	top1, _, conf, err = ClassifyScores(tensor.FromData([]float32{3, -2}, 2, 1), []int{0, 0})
	if err != nil || top1 != 1 || conf != 1 {
		t.Errorf("K = 1: top1 %v, confidence %v, error %v; want 1, 1, nil", top1, conf, err)
	}
}

func TestClassifyScoresErrors(t *testing.T) {
	logits := tensor.FromData(handLogits, 6, 5)
	nan := tensor.FromData([]float32{0, float32(math.NaN()), 1, 2}, 2, 2)
	for _, c := range []struct {
		name    string
		logits  *tensor.Tensor
		targets []int
		want    string
	}{
		{"negative target", logits, []int{2, 0, -1, 1, 0, 3}, "target -1 of row 2 outside [0, 5)"},
		{"target K", logits, []int{2, 0, 4, 1, 5, 3}, "target 5 of row 4 outside [0, 5)"},
		{"short targets", logits, handTargets[:5], "5 targets for 6 rows"},
		{"long targets", logits, append(append([]int(nil), handTargets...), 0), "7 targets for 6 rows"},
		{"NaN", nan, []int{0, 0}, "logit [0, 1] is NaN"},
		{"no rows", tensor.New(0, 5), nil, "no rows"},
		{"rank", tensor.New(6, 5, 1), handTargets, "want [N, D]"},
		{"nil", nil, nil, "nil tensor"},
	} {
		_, _, _, err := ClassifyScores(c.logits, c.targets)
		if err == nil || !strings.HasPrefix(err.Error(), "leakage: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestScoreImages(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	features := randomFeatures(rng, 6, 4, 0)
	real := randomFeatures(rng, 30, 4, 1)
	ev := &fakeEvaluator{logits: tensor.FromData(handLogits, 6, 5), features: features}
	images := tensor.New(6, 1, 2, 2)
	ctx := context.Background()

	refLogits, ref, err := Describe(ctx, &fakeEvaluator{logits: tensor.New(30, 5), features: real}, tensor.New(30, 1, 2, 2))
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(refLogits.Shape, []int{30, 5}) || ref.N != 30 || ref.Dim() != 4 {
		t.Fatalf("Describe: logits %v, N %d, D %d", refLogits.Shape, ref.N, ref.Dim())
	}
	s, err := ScoreImages(ctx, ev, images, handTargets, ref)
	if err != nil {
		t.Fatal(err)
	}
	top1, top3, conf, err := ClassifyScores(ev.logits, handTargets)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := FD(real, features)
	if err != nil {
		t.Fatal(err)
	}
	want := Score{
		Images: 6, Top1: top1, Top3: top3, Confidence: conf, FD: fd,
		Top1CI: Wilson(1, 6, Z95), Top3CI: Wilson(3, 6, Z95),
		// Only row 0 of handLogits is a top-1 hit.
		Hit: []bool{true, false, false, false, false, false},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("score %+v, want %+v", s, want)
	}
	if s.Top1 != 1.0/6 || s.Top3 != 0.5 || !(s.FD > 0) {
		t.Errorf("score %+v: want top1 1/6, top3 1/2, FD > 0", s)
	}
	// Against the moments of its own features the distance is 0.
	self, err := NewMoments(features)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := ScoreImages(ctx, ev, images, handTargets, self); err != nil || s.FD > 1e-12 {
		t.Errorf("own moments: FD %v, error %v", s.FD, err)
	}

	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"images", "top1", "top3", "confidence", "fd", "top1_ci", "top3_ci"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("JSON %s lacks %q", raw, k)
		}
	}
	for _, k := range []string{"fd_ci", "Hit", "hit"} {
		if _, ok := keys[k]; ok {
			t.Errorf("JSON %s has %q (no bootstrap ran; hits are not written)", raw, k)
		}
	}
	if ci, ok := keys["top1_ci"].(map[string]any); !ok || ci["lo"] != s.Top1CI.Lo || ci["hi"] != s.Top1CI.Hi {
		t.Errorf("JSON top1_ci %v, want lo %v and hi %v", keys["top1_ci"], s.Top1CI.Lo, s.Top1CI.Hi)
	}
}

func TestScoreImagesErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	features := randomFeatures(rng, 6, 4, 0)
	ref, err := NewMoments(randomFeatures(rng, 20, 4, 1))
	if err != nil {
		t.Fatal(err)
	}
	ref3, err := NewMoments(randomFeatures(rng, 20, 3, 1))
	if err != nil {
		t.Fatal(err)
	}
	logits := tensor.FromData(handLogits, 6, 5)
	images := tensor.New(6, 1, 2, 2)
	nanFeatures := features.Clone()
	nanFeatures.Data[7] = float32(math.NaN())
	infLogits := logits.Clone()
	infLogits.Data[3] = float32(math.Inf(1))
	boom := errors.New("boom")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	good := func() *fakeEvaluator { return &fakeEvaluator{logits: logits, features: features} }

	for _, c := range []struct {
		name    string
		ctx     context.Context
		ev      Evaluator
		images  *tensor.Tensor
		targets []int
		ref     *Moments
		want    string
		is      error
		noCall  bool
	}{
		{name: "bad target", ev: good(), images: images, targets: []int{2, 0, 4, 9, 0, 3}, ref: ref, want: "target 9 of row 3 outside [0, 5)"},
		{name: "target count", ev: good(), images: images, targets: handTargets[:4], ref: ref, want: "4 targets for 6 images", noCall: true},
		{name: "evaluator error", ev: &fakeEvaluator{err: boom}, images: images, targets: handTargets, ref: ref, want: "evaluator: boom", is: boom},
		{name: "cancelled", ctx: cancelled, ev: good(), images: images, targets: handTargets, ref: ref, want: "canceled", is: context.Canceled},
		{name: "logit rows", ev: &fakeEvaluator{logits: tensor.New(5, 5), features: features}, images: images, targets: handTargets, ref: ref, want: "logits [5 5] for 6 images"},
		{name: "feature rows", ev: &fakeEvaluator{logits: logits, features: tensor.New(7, 4)}, images: images, targets: handTargets, ref: ref, want: "features [7 4] for 6 images"},
		{name: "feature rank", ev: &fakeEvaluator{logits: logits, features: tensor.New(6, 4, 1)}, images: images, targets: handTargets, ref: ref, want: "features: shape [6 4 1]"},
		{name: "NaN feature", ev: &fakeEvaluator{logits: logits, features: nanFeatures}, images: images, targets: handTargets, ref: ref, want: "non-finite value NaN at [1, 3]"},
		{name: "Inf logit", ev: &fakeEvaluator{logits: infLogits, features: features}, images: images, targets: handTargets, ref: ref, want: "logit 3 is +Inf"},
		{name: "one image", ev: good(), images: tensor.New(1, 1, 2, 2), targets: []int{0}, ref: ref, want: "1 images", noCall: true},
		{name: "image rank", ev: good(), images: tensor.New(6, 4), targets: handTargets, ref: ref, want: "want [N, C, H, W]", noCall: true},
		{name: "nil images", ev: good(), targets: handTargets, ref: ref, want: "nil images", noCall: true},
		{name: "nil evaluator", images: images, targets: handTargets, ref: ref, want: "nil evaluator", noCall: true},
		{name: "nil reference", ev: good(), images: images, targets: handTargets, want: "nil reference", noCall: true},
		{name: "reference dimension", ev: good(), images: images, targets: handTargets, ref: ref3, want: "dimensions 3 and 4 differ"},
	} {
		ctx := c.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		_, err := ScoreImages(ctx, c.ev, c.images, c.targets, c.ref)
		if err == nil || !strings.HasPrefix(err.Error(), "leakage: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: error %v does not wrap %v", c.name, err, c.is)
		}
		if f, ok := c.ev.(*fakeEvaluator); ok && c.noCall && f.calls != 0 {
			t.Errorf("%s: the evaluator ran before the error was found", c.name)
		}
	}
}
