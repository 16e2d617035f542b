// Package invert is privatesnn's input-optimisation engine: it optimises a
// batch of images against a frozen network so that the network's output
// matches a per-image target. Synthetic-data generation (package synth) and
// the model-inversion attacks share it.
//
// # Overview
//
// Run takes a Network (a *vgg.Model satisfies it), initial images
// [N, C, H, W], soft targets [N, K] (one probability row per image) and
// Options, and minimises for every image its own soft cross-entropy
// −Σ_k t_k · log softmax(z/τ)_k with Adam on the pixels. The
// network runs in evaluation mode (dropout off) and no weight gradients are
// computed. The images are unconstrained while optimising, as in the
// reference, unless Options.Clip asks for projection onto a box after every
// step (the attacks keep images in [-1, 1]); Run never quantises.
//
// Images are optimised Options.Batch at a time. The objective is the SUM of
// the per-image losses and Adam's moments are element-wise, so image n of a
// batch receives exactly the gradient and the updates it would receive alone:
// a batch of B is B independent runs of batch 1 (up to floating-point
// rounding in the network's matrix products), only faster. Options therefore
// never changes what an image converges to, only how fast the run goes.
//
// # Error handling
//
// Options.Validate and Run return errors for unusable options and for
// images or targets of inconsistent shape or with non-finite values. Run
// returns ctx.Err(), or the progress callback's error wrapped in a
// *progress.StopError, as soon as it sees one. The Network itself panics on an image shape it does not accept
// (see vgg.Model.Forward); callers build images from the model's config.
//
// # Concurrency
//
// Run uses the network for its whole duration, so a network must not be
// shared by concurrent runs. Within a run, the network's matrix products use
// all the cores the GEMM backend is given.
package invert
