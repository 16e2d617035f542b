// Package leakage scores the images of a model-inversion attack: how much of
// each class an attacker recovered from a model, judged by an independent
// classifier (an Evaluator) that the attack never queried.
//
// # Scores
//
// ScoreImages (and ScoreImagesWith, which adds a bootstrap interval on FD)
// runs the evaluator on the attack images, one intended (target) class per
// image, and reports:
//
//   - Top1, Top3: the fraction of images the evaluator puts in their target
//     class (among its first three), ties counting against the target;
//   - Confidence: the evaluator's mean softmax probability of the target;
//   - FD: the Fréchet distance between the images' features and those of
//     the real test images, both taken from the evaluator's penultimate
//     layer, "FD (evaluator features)";
//   - Top1CI, Top3CI and, with a bootstrap, FDCI: 95 % intervals (below);
//   - Hit: which images are top-1 hits, for paired comparisons.
//
// A high Top1 says the images carry what the evaluator uses to recognise the
// class; a low FD says their features are distributed like real images'.
// ClassifyScores applies the same counting to any logits, so the attacked
// model's own hit rate on the attack images comes from the same code, and
// Describe gives the logits and feature moments of a set, for the real test
// images' reference moments and for reference rows of a report.
//
// # Intervals
//
// The hit rates carry 95 % intervals, and FD one on request. Top1CI and
// Top3CI are Wilson score intervals (Wilson 1927; recommended by Newcombe
// 1998 among seven methods for a single proportion): unlike the normal
// approximation p ± z·√(p(1−p)/n) they stay within [0, 1], do not collapse
// to a point at 0 or n hits, and keep close to their nominal coverage for
// the few hundred images of an attack.
//
// FDCI, computed by ScoreImagesWith when ScoreOptions.Bootstrap > 0, is a
// bias-shifted percentile bootstrap interval: the images are resampled with
// replacement (from ScoreOptions.Rand, so a seed fixes the interval), the
// distance to the same reference moments is computed for each resample,
// and the 2.5 and 97.5 percentiles, each minus the bootstrap estimate of
// the bias (the resamples' mean distance minus the full-sample one), are
// reported, clamped at 0. It measures how much the distance depends on
// which attack images were drawn; the reference moments are held fixed, so
// their own sampling error is not in it. The shift is needed because the
// plug-in distance is biased upwards by an amount that falls as 1/N (see
// below), and a resample, whose duplicated images leave fewer distinct
// ones, gives a larger distance than the full set: for distances near that
// bias (real images against real images) the unshifted percentiles lie
// wholly above the full-sample value. Each
// resample is computed from a count vector over the images rather than a
// copy of their features, and the reference's eigendecomposition is done
// once, so a bootstrap costs one symmetric eigenvalue problem of size
// min(0.63·N, D) per resample. At most MaxBootstrap resamples are allowed.
//
// Two models attacked from the same starting images give paired results:
// Score.Hit records which images are top-1 hits, and PairedDifference
// returns the difference of two models' hit rates with Newcombe's (1998)
// hybrid score interval for paired proportions (method 10, with its
// corrected correlation estimate), which accounts for the agreement
// between the two models on the same images and is narrower than treating
// them as independent samples when they agree.
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
// images for a covariance, out-of-range bootstrap options, and errors of the
// evaluator (wrapped). Wilson has no error: degenerate arguments give
// [0, 1]. The package never prints and never panics on bad input.
//
// # Concurrency
//
// The functions keep no state; Moments are only read. ScoreImages,
// ScoreImagesWith and Describe use the evaluator for their whole duration,
// so whether they may run concurrently on one evaluator depends on that
// evaluator. ScoreImagesWith draws from ScoreOptions.Rand, which must not be
// shared with concurrent users (math/rand/v2 sources are not safe for
// concurrent use).
package leakage
