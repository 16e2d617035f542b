package leakage

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/privatesnn/privatesnn/tensor"
)

// Evaluator is an independent classifier trained on the same task as the
// attacked model but not used by the attack; its judgement of an attack's
// images is therefore not the judgement the attack optimised for.
type Evaluator interface {
	// Evaluate returns logits [N, K] and penultimate-layer features [N, D]
	// for images [N, C, H, W] given in the evaluator's input range. It may
	// process the images in batches internally and should return ctx.Err()
	// when ctx is cancelled.
	Evaluate(ctx context.Context, images *tensor.Tensor) (logits, features *tensor.Tensor, err error)
}

// Score is the leakage of a set of attack images as an evaluator sees it.
type Score struct {
	// Images is the number of images scored.
	Images int `json:"images"`
	// Top1 is the fraction of images whose target class the evaluator ranks
	// first (see ClassifyScores for ties).
	Top1 float64 `json:"top1"`
	// Top3 is the fraction of images whose target class the evaluator ranks
	// among its first three.
	Top3 float64 `json:"top3"`
	// Confidence is the mean over the images of the evaluator's softmax
	// probability of the target class.
	Confidence float64 `json:"confidence"`
	// FD is the Fréchet distance between the images' evaluator features and
	// the reference moments ("FD (evaluator features)"); never NaN.
	FD float64 `json:"fd"`
	// Top1CI is the 95 % Wilson interval of Top1 (see Wilson).
	Top1CI Interval `json:"top1_ci"`
	// Top3CI is the 95 % Wilson interval of Top3.
	Top3CI Interval `json:"top3_ci"`
	// FDCI is the 95 % bootstrap interval of FD over resamples of the
	// images, its percentiles shifted by the bootstrap estimate of FD's bias
	// (see ScoreImagesWith); nil when no bootstrap ran.
	FDCI *Interval `json:"fd_ci,omitempty"`
	// Hit records per image whether it is a top-1 hit (the counting of
	// Top1, whose value is the fraction of true entries), for paired
	// comparisons with PairedDifference. It is not written to JSON.
	Hit []bool `json:"-"`
}

// ScoreImages classifies images [N, C, H, W] with ev, scores the
// classification against targets (one class per image, in [0, K)) with
// ClassifyScores, and returns the Fréchet distance between the images'
// features and ref, the moments of the real test images' features under the
// same evaluator (see Describe), with the Wilson intervals of the hit rates
// and the per-image hits; it is ScoreImagesWith without a bootstrap. It
// needs N ≥ 2 (for a covariance) and returns an error for inconsistent
// shapes or targets, non-finite logits or features, feature dimensions that
// differ from ref's, and errors of ev.
func ScoreImages(ctx context.Context, ev Evaluator, images *tensor.Tensor, targets []int, ref *Moments) (Score, error) {
	return ScoreImagesWith(ctx, ev, images, targets, ref, ScoreOptions{})
}

// ScoreImagesWith is ScoreImages with options: when o.Bootstrap > 0 it adds
// FDCI, the 2.5 and 97.5 percentiles of the Fréchet distance to ref over
// o.Bootstrap resamples of the images (N images drawn with replacement,
// with o.Rand; ref is held fixed), each minus the resamples' mean bias
// (their mean distance minus FD) and clamped at 0: FD of a finite sample
// is biased upward, resamples with repeated images more so. Percentiles interpolate linearly between
// order statistics (NumPy's default). Besides ScoreImages' errors it
// returns one for o.Bootstrap < 0 or > MaxBootstrap, for a nil o.Rand with
// o.Bootstrap > 0, for a resample
// whose distance fails, and ctx.Err() if ctx ends during the bootstrap.
// The same o.Rand state gives the same interval.
func ScoreImagesWith(ctx context.Context, ev Evaluator, images *tensor.Tensor, targets []int, ref *Moments, o ScoreOptions) (Score, error) {
	if err := o.validate(); err != nil {
		return Score{}, fmt.Errorf("leakage: score: %w", err)
	}
	if ref == nil {
		return Score{}, errors.New("leakage: score: nil reference moments")
	}
	if images != nil && len(images.Shape) == 4 && len(targets) != images.Shape[0] {
		return Score{}, fmt.Errorf("leakage: score: %d targets for %d images", len(targets), images.Shape[0])
	}
	logits, features, m, err := describeFeatures(ctx, ev, images)
	if err != nil {
		return Score{}, fmt.Errorf("leakage: score: %w", err)
	}
	hit, hits3, conf, err := classifyRows(logits, targets)
	if err != nil {
		return Score{}, fmt.Errorf("leakage: score: %w", err)
	}
	fd, err := frechet(ref, m)
	if err != nil {
		return Score{}, fmt.Errorf("leakage: score: Fréchet distance from the reference: %w", err)
	}
	hits1 := count(hit)
	n := len(hit)
	s := Score{
		Images: m.N, Top1: float64(hits1) / float64(n), Top3: float64(hits3) / float64(n), Confidence: conf, FD: fd,
		Top1CI: Wilson(hits1, n, Z95), Top3CI: Wilson(hits3, n, Z95), Hit: hit,
	}
	if o.Bootstrap > 0 {
		ci, err := bootstrapFD(ctx, ref, features, m, fd, o)
		if err != nil {
			return Score{}, fmt.Errorf("leakage: score: FD bootstrap: %w", err)
		}
		s.FDCI = &ci
	}
	return s, nil
}

// count returns the number of true entries of b.
func count(b []bool) int {
	var k int
	for _, x := range b {
		if x {
			k++
		}
	}
	return k
}

// Describe evaluates images [N, C, H, W] with ev and returns the logits
// [N, K] and the moments of the features; applied to the real test images it
// gives the reference moments of ScoreImages. It needs N ≥ 2 and returns an
// error if ev fails, if the logits or features are not [N, K] and [N, D]
// tensors, or if they contain a NaN or an infinity.
func Describe(ctx context.Context, ev Evaluator, images *tensor.Tensor) (logits *tensor.Tensor, m *Moments, err error) {
	logits, m, err = describe(ctx, ev, images)
	if err != nil {
		return nil, nil, fmt.Errorf("leakage: describe: %w", err)
	}
	return logits, m, nil
}

// describe is Describe with errors that do not name the package.
func describe(ctx context.Context, ev Evaluator, images *tensor.Tensor) (logits *tensor.Tensor, m *Moments, err error) {
	logits, _, m, err = describeFeatures(ctx, ev, images)
	return logits, m, err
}

// describeFeatures is describe that also returns the features [N, D].
func describeFeatures(ctx context.Context, ev Evaluator, images *tensor.Tensor) (logits, features *tensor.Tensor, m *Moments, err error) {
	if ev == nil {
		return nil, nil, nil, errors.New("nil evaluator")
	}
	if images == nil {
		return nil, nil, nil, errors.New("nil images")
	}
	if len(images.Shape) != 4 {
		return nil, nil, nil, fmt.Errorf("images of shape %v, want [N, C, H, W]", images.Shape)
	}
	n := images.Shape[0]
	for _, s := range images.Shape {
		if s < 0 {
			return nil, nil, nil, fmt.Errorf("images of shape %v", images.Shape)
		}
	}
	if len(images.Data) != tensor.Numel(images.Shape) {
		return nil, nil, nil, fmt.Errorf("%d values for images of shape %v", len(images.Data), images.Shape)
	}
	if n < 2 {
		return nil, nil, nil, fmt.Errorf("%d images, the feature covariance needs at least 2", n)
	}
	logits, features, err = ev.Evaluate(ctx, images)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("evaluator: %w", err)
	}
	ln, _, err := matrixShape(logits)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("evaluator logits: %w", err)
	}
	if ln != n {
		return nil, nil, nil, fmt.Errorf("evaluator returned logits %v for %d images", logits.Shape, n)
	}
	for i, v := range logits.Data {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, nil, nil, fmt.Errorf("evaluator logit %d is %v", i, v)
		}
	}
	fn, _, err := matrixShape(features)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("evaluator features: %w", err)
	}
	if fn != n {
		return nil, nil, nil, fmt.Errorf("evaluator returned features %v for %d images", features.Shape, n)
	}
	m, err = moments(features)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("evaluator features: %w", err)
	}
	return logits, features, m, nil
}

// ClassifyScores scores logits [N, K] against targets (one class in [0, K)
// per row): top1 and top3 are the fractions of rows whose target is among
// the first 1 and 3 classes, conf the mean softmax probability of the target
// (computed in float64). It applies equally to an evaluator's logits and to
// the attacked model's own.
//
// Ties count against the target: a row is a top-k hit when at most k − 1
// other classes have a logit greater than or equal to the target's, i.e.
// the target's logit is strictly greater than all but at most k − 1 others.
// A row whose logits are all equal is therefore a top-1 hit only when K = 1.
// With K ≤ k every row is a top-k hit.
//
// It returns an error for a malformed logits tensor, N = 0, a NaN or
// infinite logit, len(targets) ≠ N, or a target outside [0, K).
func ClassifyScores(logits *tensor.Tensor, targets []int) (top1, top3, conf float64, err error) {
	top1, top3, conf, err = classify(logits, targets)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("leakage: classify: %w", err)
	}
	return top1, top3, conf, nil
}

// classify is ClassifyScores with errors that do not name the package.
func classify(logits *tensor.Tensor, targets []int) (top1, top3, conf float64, err error) {
	hit, hits3, conf, err := classifyRows(logits, targets)
	if err != nil {
		return 0, 0, 0, err
	}
	n := len(hit)
	return float64(count(hit)) / float64(n), float64(hits3) / float64(n), conf, nil
}

// classifyRows is classify with the top-1 hit of each row, the number of
// top-3 hits and the mean confidence.
func classifyRows(logits *tensor.Tensor, targets []int) (hit []bool, hits3 int, conf float64, err error) {
	n, k, err := matrixShape(logits)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("logits: %w", err)
	}
	if n == 0 {
		return nil, 0, 0, errors.New("no rows")
	}
	if len(targets) != n {
		return nil, 0, 0, fmt.Errorf("%d targets for %d rows", len(targets), n)
	}
	hit = make([]bool, n)
	var sumConf float64
	for i, t := range targets {
		if t < 0 || t >= k {
			return nil, 0, 0, fmt.Errorf("target %d of row %d outside [0, %d)", t, i, k)
		}
		row := logits.Data[i*k : (i+1)*k]
		zt := float64(row[t])
		maxv := math.Inf(-1)
		for j, v := range row {
			f := float64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, 0, 0, fmt.Errorf("logit [%d, %d] is %v", i, j, v)
			}
			maxv = math.Max(maxv, f)
		}
		rank := 0 // other classes with a logit ≥ the target's
		var sum float64
		for j, v := range row {
			f := float64(v)
			sum += math.Exp(f - maxv)
			if j != t && f >= zt {
				rank++
			}
		}
		hit[i] = rank < 1
		if rank < 3 {
			hits3++
		}
		sumConf += math.Exp(zt-maxv) / sum
	}
	return hit, hits3, sumConf / float64(n), nil
}
