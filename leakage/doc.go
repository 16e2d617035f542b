// Package leakage scores the images of a model-inversion attack: how much of
// each class an attacker recovered from a model, judged by an independent
// classifier (an Evaluator) that the attack never queried.
//
// # Scores
//
// ScoreImages runs the evaluator on the attack images, one intended (target)
// class per image, and reports:
//
//   - Top1, Top3: the fraction of images the evaluator puts in their target
//     class (among its first three), ties counting against the target;
//   - Confidence: the evaluator's mean softmax probability of the target;
//   - FD: the Fréchet distance between the images' features and those of
//     the real test images, both taken from the evaluator's penultimate
//     layer, "FD (evaluator features)".
//
// A high Top1 says the images carry what the evaluator uses to recognise the
// class; a low FD says their features are distributed like real images'.
// ClassifyScores applies the same counting to any logits, so the attacked
// model's own hit rate on the attack images comes from the same code, and
// Describe gives the logits and feature moments of a set, for the real test
// images' reference moments and for reference rows of a report.
//
// # FD (evaluator features), not FID
//
// The Fréchet distance between two feature sets fits a Gaussian to each
// (sample mean μ and unbiased covariance Σ) and returns
// ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁^½ Σ₂ Σ₁^½)^½). The Fréchet Inception
// Distance (FID) is this distance in the 2048-dimensional pool features of one specific
// Inception-v3 network trained on ImageNet, applied to images resized to its
// input; its values are comparable between papers only because the network
// is fixed. The evaluator here is a classifier trained on the task's own
// images (small, low-resolution, often grey), whose penultimate features
// measure what distinguishes the task's classes. The distance in those
// features is therefore not an FID, is on a different scale, and is never
// called FID: it is "FD (evaluator features)", meaningful only between sets
// scored by the same evaluator.
//
// The plug-in estimate from N samples is biased (for two samples of one
// distribution it is positive, not 0) by an amount that falls roughly as
// 1/N and depends on the feature dimension, so distances are comparable only
// when computed from the same number of images; a real held-out set scored
// the same way gives the floor that sampling alone produces.
//
// # Numerics
//
// Moments and distances are computed in float64 from the float32 features.
// FrechetDistance uses symmetric eigendecompositions only (no complex
// matrix square root) and handles singular covariances, as arise with fewer
// images than feature dimensions or with units that never activate; see its
// documentation for how round-off is treated.
//
// # Error handling
//
// Functions return errors, prefixed "leakage:", for inconsistent shapes,
// targets outside the class range, non-finite logits or features, too few
// images for a covariance, and errors of the evaluator (wrapped). The
// package never prints and never panics on bad input.
//
// # Concurrency
//
// The functions keep no state; Moments are only read. ScoreImages and
// Describe use the evaluator for their whole duration, so whether they may
// run concurrently on one evaluator depends on that evaluator.
package leakage
