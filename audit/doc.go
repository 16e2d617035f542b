// Package audit measures how much class information a spiking network
// leaks to model-inversion attacks: it runs the attacks of package attack
// against one or more models and scores every attack's images with an
// independent evaluator network (package leakage), next to reference rows
// that show the scale of the scores.
//
// # Overview
//
// Run takes the models (an SNN, or an ANN that only Attack 1 applies to),
// an Evaluator (a network trained on real data, with its own
// normalisation), the real test images, optionally the synthetic set, and
// Options. For every model and method it runs the attack on PerClass
// images of every class, and reports for the attack's images
//
//   - the attacked model's own hit rate (how often it assigns the target);
//   - the evaluator's top-1 and top-3 hit rates and its mean confidence in
//     the target class (chance is 1/classes and 3/classes);
//   - the Fréchet distance between the images' and the real test images'
//     distributions of evaluator features: "FD (evaluator features)", lower
//     meaning closer to real images. It is not FID: the features are the
//     evaluator's penultimate layer, not Inception-v3's, so the values are
//     comparable only within one evaluator.
//
// The reference rows score, against the same real images, a disjoint
// split of real test images of the attack's size (what a perfect attack
// would reach), uniform noise (what no information looks like) and the
// synthetic set the model was converted with.
//
// The attacks read no data: they see the weights only. The test images
// are read by the caller and reach this package only for scoring; Report
// records which stage used what.
//
// # Determinism
//
// All randomness comes from Options.Seed: each (model, method) pair and
// each reference row draws from its own stream, so adding a model or a
// method does not change the others' images.
package audit
