package leakage

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

// bootstrapCase returns an evaluator with n images of d features (shifted
// by shift from the reference distribution), random logits over 5 classes,
// its targets and images, and reference moments of 4n real features.
func bootstrapCase(t testing.TB, rng *rand.Rand, n, d int, shift float64) (*fakeEvaluator, *tensor.Tensor, []int, *Moments) {
	t.Helper()
	ref, err := NewMoments(randomFeatures(rng, 4*n, d, 0))
	if err != nil {
		t.Fatal(err)
	}
	logits := tensor.New(n, 5)
	for i := range logits.Data {
		logits.Data[i] = float32(rng.NormFloat64())
	}
	targets := make([]int, n)
	for i := range targets {
		targets[i] = rng.IntN(5)
	}
	ev := &fakeEvaluator{logits: logits, features: randomFeatures(rng, n, d, shift)}
	return ev, tensor.New(n, 1, 1, 1), targets, ref
}

// fastPathTol bounds the relative difference between the count-vector
// distance and FrechetDistance on copied rows: the same quantity through
// different float64 summation orders and a different (Gram or projected)
// eigenvalue problem. The observed differences are about 1e-14; the bound
// leaves a thousandfold margin for other platforms' rounding.
const fastPathTol = 1e-11

// TestResamplerMatchesCopies compares each resample's distance, computed
// from counts, with FD on a copy of the drawn rows.
func TestResamplerMatchesCopies(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, c := range []struct {
		n, d  int
		shift float64
	}{{40, 6, 0.3}, {50, 64, 0}, {200, 32, 1}, {100, 64, 0.5}, {60, 128, 0.2}} {
		ref, err := NewMoments(randomFeatures(rng, 3*c.d, c.d, 0))
		if err != nil {
			t.Fatal(err)
		}
		x := randomFeatures(rng, c.n, c.d, c.shift)
		m, err := NewMoments(x)
		if err != nil {
			t.Fatal(err)
		}
		s, err := newResampler(ref, x, m)
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for range 20 {
			s.draw(rng)
			got, err := s.distance()
			if err != nil {
				t.Fatal(err)
			}
			copied := tensor.New(c.n, c.d)
			row := 0
			for i, k := range s.counts {
				for range k {
					copy(copied.Data[row*c.d:(row+1)*c.d], x.Data[i*c.d:(i+1)*c.d])
					row++
				}
			}
			mc, err := NewMoments(copied)
			if err != nil {
				t.Fatal(err)
			}
			want, err := FrechetDistance(ref, mc)
			if err != nil {
				t.Fatal(err)
			}
			r := relDiff(got, want, 0)
			worst = math.Max(worst, r)
			if r > fastPathTol {
				t.Errorf("N=%d D=%d: resample FD %.17g, on copied rows %.17g (relative %g)", c.n, c.d, got, want, r)
			}
		}
		t.Logf("N=%d D=%d: largest relative difference %.3g", c.n, c.d, worst)
	}
}

func TestPercentile(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5}
	// h = 4p: p = 0.025 → 1 + 0.1·(2 − 1); p = 0.975 → 4 + 0.9·(5 − 4).
	if a, b := percentile(x, 0.025), percentile(x, 0.975); math.Abs(a-1.1) > 1e-15 || math.Abs(b-4.9) > 1e-15 {
		t.Errorf("percentiles %v, %v, want 1.1, 4.9", a, b)
	}
	if a := percentile([]float64{7}, 0.975); a != 7 {
		t.Errorf("one value: %v", a)
	}
}

func TestScoreImagesWithBootstrap(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(33, 34))
	ev, images, targets, ref := bootstrapCase(t, rng, 300, 16, 0.5)
	plain, err := ScoreImages(ctx, ev, images, targets, ref)
	if err != nil {
		t.Fatal(err)
	}
	if plain.FDCI != nil {
		t.Errorf("ScoreImages: FDCI %v, want nil", *plain.FDCI)
	}
	zero, err := ScoreImagesWith(ctx, ev, images, targets, ref, ScoreOptions{Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil || zero.FDCI != nil {
		t.Errorf("Bootstrap 0: FDCI %v, error %v; want nil, nil", zero.FDCI, err)
	}
	o := func(seed uint64) ScoreOptions {
		return ScoreOptions{Bootstrap: 200, Rand: rand.New(rand.NewPCG(seed, 1))}
	}
	s, err := ScoreImagesWith(ctx, ev, images, targets, ref, o(7))
	if err != nil {
		t.Fatal(err)
	}
	if s.FDCI == nil {
		t.Fatal("no FD interval")
	}
	if s.FD != plain.FD || s.Top1 != plain.Top1 || s.Top3 != plain.Top3 || s.Confidence != plain.Confidence || s.Top1CI != plain.Top1CI {
		t.Errorf("bootstrap changed the score: %+v, without %+v", s, plain)
	}
	if !(s.FDCI.Lo < s.FDCI.Hi) || !s.FDCI.Contains(s.FD) {
		t.Errorf("FD %v, interval %v", s.FD, *s.FDCI)
	}
	again, err := ScoreImagesWith(ctx, ev, images, targets, ref, o(7))
	if err != nil || *again.FDCI != *s.FDCI {
		t.Errorf("same seed: %v then %v (error %v)", *s.FDCI, again.FDCI, err)
	}
	other, err := ScoreImagesWith(ctx, ev, images, targets, ref, o(8))
	if err != nil || *other.FDCI == *s.FDCI {
		t.Errorf("another seed gives the same interval %v (error %v)", *s.FDCI, err)
	}
	t.Logf("N=300 D=16: FD %.4f, 95 %% bootstrap interval %v", s.FD, *s.FDCI)

	// Hit records Top1.
	if len(s.Hit) != 300 || float64(count(s.Hit))/300 != s.Top1 {
		t.Errorf("%d hits of %d images, Top1 %v", count(s.Hit), len(s.Hit), s.Top1)
	}
	top1, _, _, err := ClassifyScores(ev.logits, targets)
	if err != nil || top1 != s.Top1 {
		t.Errorf("ClassifyScores top1 %v (error %v), score %v", top1, err, s.Top1)
	}
}

// Containment and narrowing are statistical: over coverageSets independent
// image sets (fixed seeds) the full-sample FD must lie in the bootstrap
// interval at least minContained times; a 95 % interval of a statistic
// whose bootstrap distribution is close to centred on it holds it nearly
// always, and the margin of 2 allows for the upward bias of resampled
// distances (duplicated rows shrink the covariance).
const (
	coverageSets = 10
	minContained = 8
	// narrowRatio bounds width(4N)/width(N); the sampling spread of a smooth
	// statistic falls as 1/√N, a ratio of about 1/2.
	narrowRatio = 0.75
)

func TestBootstrapContainsAndNarrows(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(35, 36))
	width := func(n int) (w float64, contained bool) {
		ev, images, targets, ref := bootstrapCase(t, rng, n, 16, 0.5)
		s, err := ScoreImagesWith(ctx, ev, images, targets, ref, ScoreOptions{Bootstrap: 200, Rand: rng})
		if err != nil {
			t.Fatal(err)
		}
		return s.FDCI.Hi - s.FDCI.Lo, s.FDCI.Contains(s.FD)
	}
	var in int
	var small, large float64
	for range coverageSets {
		w, ok := width(150)
		if ok {
			in++
		}
		small += w
		w, ok = width(600)
		if ok {
			in++
		}
		large += w
	}
	if in < 2*minContained {
		t.Errorf("full-sample FD inside its interval in %d of %d sets, want at least %d", in, 2*coverageSets, 2*minContained)
	}
	if r := large / small; !(r < narrowRatio) {
		t.Errorf("mean width %.4g at N=600, %.4g at N=150: ratio %.3g, want < %v", large/coverageSets, small/coverageSets, r, narrowRatio)
	}
	t.Logf("contained %d of %d; mean width %.4g (N=150), %.4g (N=600)", in, 2*coverageSets, small/coverageSets, large/coverageSets)
}

// cancellingEvaluator cancels its context once it has answered.
type cancellingEvaluator struct {
	fakeEvaluator
	cancel context.CancelFunc
}

func (c *cancellingEvaluator) Evaluate(ctx context.Context, images *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor, error) {
	defer c.cancel()
	return c.fakeEvaluator.Evaluate(ctx, images)
}

func TestScoreImagesWithErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	ev, images, targets, ref := bootstrapCase(t, rng, 20, 4, 0)
	src := rand.New(rand.NewPCG(1, 1))
	two, twoImages, twoTargets, _ := bootstrapCase(t, rng, 2, 4, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelling := &cancellingEvaluator{fakeEvaluator: *ev, cancel: cancel}
	for _, c := range []struct {
		name    string
		ctx     context.Context
		ev      Evaluator
		images  *tensor.Tensor
		targets []int
		o       ScoreOptions
		want    string
		is      error
	}{
		{"negative", nil, ev, images, targets, ScoreOptions{Bootstrap: -1, Rand: src}, "-1 bootstrap resamples", nil},
		{"too many", nil, ev, images, targets, ScoreOptions{Bootstrap: MaxBootstrap + 1, Rand: src}, "10001 bootstrap resamples, want 0 to 10000", nil},
		{"nil rand", nil, ev, images, targets, ScoreOptions{Bootstrap: 5}, "nil ScoreOptions.Rand", nil},
		{"cancelled", ctx, cancelling, images, targets, ScoreOptions{Bootstrap: 5, Rand: src}, "FD bootstrap: context canceled", context.Canceled},
	} {
		cctx := c.ctx
		if cctx == nil {
			cctx = context.Background()
		}
		_, err := ScoreImagesWith(cctx, c.ev, c.images, c.targets, ref, c.o)
		if err == nil || !strings.HasPrefix(err.Error(), "leakage: score: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: error %v does not wrap %v", c.name, err, c.is)
		}
	}
	// Two images: half the resamples draw one image twice, whose zero
	// covariance still has a distance.
	if _, err := ScoreImagesWith(context.Background(), two, twoImages, twoTargets, ref, ScoreOptions{Bootstrap: 60, Rand: src}); err != nil {
		t.Errorf("two images: %v", err)
	}
	if ev.calls != 0 {
		t.Errorf("the evaluator ran %d times before option errors were found", ev.calls)
	}
}

// BenchmarkBootstrapFD300x256x200 times ScoreImagesWith's bootstrap: 300
// images of 256 features, 200 resamples, reference moments of 1200 rows.
func BenchmarkBootstrapFD300x256x200(b *testing.B) {
	rng := rand.New(rand.NewPCG(39, 40))
	ev, images, targets, ref := bootstrapCase(b, rng, 300, 256, 0.2)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		o := ScoreOptions{Bootstrap: 200, Rand: rand.New(rand.NewPCG(1, 2))}
		if _, err := ScoreImagesWith(ctx, ev, images, targets, ref, o); err != nil {
			b.Fatal(err)
		}
	}
}
