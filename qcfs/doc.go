// Package qcfs fine-tunes a trained ReLU ANN into a quantisation-aware one
// without real data: a copy whose ReLUs are QCFS activations
// (quantisation-clip-floor-shift, nn.QCFS; Bu et al., ICLR 2022) with L
// levels and a trainable clip per layer, distilled from the ANN's logits
// on synthetic images. An IF neuron with threshold λ, initial membrane
// λ/2 and reset by subtraction reproduces an L-level QCFS activation of
// clip λ over L steps of constant input, so the fine-tuned ANN converts
// (package convert, Candidate.Clips) with thresholds from its clips and
// no threshold search.
//
// # Overview
//
// Run sets each clip λ_l at a percentile of the ANN's pre-activations on
// the images (convert.ActivationClips; PercentileFor chooses it), then, for
// as many epochs as asked (none by default, see Defaults), trains weights
// and clips with Adam on cosine-annealed rates. Each batch is
// shifted, flipped and mixed (mixup), and the loss is Hinton's
// distillation loss at temperature τ between the copy's logits and the
// ANN's. Images held out of training pick the epoch to return: the one
// whose top-1 classes agree most often with the ANN's on them, blurred
// (imageset.Smooth), the weights before training included. LevelsFor
// chooses L for a target T.
//
// The package reads no data set: it takes the images its caller loaded,
// and package stage gives it synthetic sets only.
//
// # Error handling
//
// Invalid options return a *setting.Error naming the option. Images of
// the wrong shape, too few images, an already quantised network, a dead
// layer (a clip that is not positive) and a diverged loss (ErrDiverged)
// return errors; so does a cancelled ctx, and the progress callback's
// error stops the run.
//
// # Concurrency
//
// Run uses the ANN (read only) and the copy exclusively; the heavy
// kernels use all cores.
package qcfs
