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
}

// ScoreImages classifies images [N, C, H, W] with ev, scores the
// classification against targets (one class per image, in [0, K)) with
// ClassifyScores, and returns the Fréchet distance between the images'
// features and ref, the moments of the real test images' features under the
// same evaluator (see Describe). It needs N ≥ 2 (for a covariance) and
// returns an error for inconsistent shapes or targets, non-finite logits or
// features, feature dimensions that differ from ref's, and errors of ev.
func ScoreImages(ctx context.Context, ev Evaluator, images *tensor.Tensor, targets []int, ref *Moments) (Score, error) {
	if ref == nil {
		return Score{}, errors.New("leakage: score: nil reference moments")
	}
	if images != nil && len(images.Shape) == 4 && len(targets) != images.Shape[0] {
		return Score{}, fmt.Errorf("leakage: score: %d targets for %d images", len(targets), images.Shape[0])
	}
	logits, m, err := describe(ctx, ev, images)
	if err != nil {
		return Score{}, fmt.Errorf("leakage: score: %w", err)
	}
	top1, top3, conf, err := classify(logits, targets)
	if err != nil {
		return Score{}, fmt.Errorf("leakage: score: %w", err)
	}
	fd, err := frechet(ref, m)
	if err != nil {
		return Score{}, fmt.Errorf("leakage: score: Fréchet distance from the reference: %w", err)
	}
	return Score{Images: m.N, Top1: top1, Top3: top3, Confidence: conf, FD: fd}, nil
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
	if ev == nil {
		return nil, nil, errors.New("nil evaluator")
	}
	if images == nil {
		return nil, nil, errors.New("nil images")
	}
	if len(images.Shape) != 4 {
		return nil, nil, fmt.Errorf("images of shape %v, want [N, C, H, W]", images.Shape)
	}
	n := images.Shape[0]
	for _, s := range images.Shape {
		if s < 0 {
			return nil, nil, fmt.Errorf("images of shape %v", images.Shape)
		}
	}
	if len(images.Data) != tensor.Numel(images.Shape) {
		return nil, nil, fmt.Errorf("%d values for images of shape %v", len(images.Data), images.Shape)
	}
	if n < 2 {
		return nil, nil, fmt.Errorf("%d images, the feature covariance needs at least 2", n)
	}
	logits, features, err := ev.Evaluate(ctx, images)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluator: %w", err)
	}
	ln, _, err := matrixShape(logits)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluator logits: %w", err)
	}
	if ln != n {
		return nil, nil, fmt.Errorf("evaluator returned logits %v for %d images", logits.Shape, n)
	}
	for i, v := range logits.Data {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, nil, fmt.Errorf("evaluator logit %d is %v", i, v)
		}
	}
	fn, _, err := matrixShape(features)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluator features: %w", err)
	}
	if fn != n {
		return nil, nil, fmt.Errorf("evaluator returned features %v for %d images", features.Shape, n)
	}
	m, err = moments(features)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluator features: %w", err)
	}
	return logits, m, nil
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
	n, k, err := matrixShape(logits)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("logits: %w", err)
	}
	if n == 0 {
		return 0, 0, 0, errors.New("no rows")
	}
	if len(targets) != n {
		return 0, 0, 0, fmt.Errorf("%d targets for %d rows", len(targets), n)
	}
	var hits1, hits3 int
	var sumConf float64
	for i, t := range targets {
		if t < 0 || t >= k {
			return 0, 0, 0, fmt.Errorf("target %d of row %d outside [0, %d)", t, i, k)
		}
		row := logits.Data[i*k : (i+1)*k]
		zt := float64(row[t])
		maxv := math.Inf(-1)
		for j, v := range row {
			f := float64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, 0, 0, fmt.Errorf("logit [%d, %d] is %v", i, j, v)
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
		if rank < 1 {
			hits1++
		}
		if rank < 3 {
			hits3++
		}
		sumConf += math.Exp(zt-maxv) / sum
	}
	return float64(hits1) / float64(n), float64(hits3) / float64(n), sumConf / float64(n), nil
}
