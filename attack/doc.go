// Package attack implements model-inversion attacks that recover what a
// network has learnt about each class from its weights alone: no data set
// is read. They are the measuring instruments of PrivateSNN's privacy
// claim, that class-encryption training hides class information in a
// spiking network's weights.
//
// # The attacks
//
//   - Attack 1 (RunVisualize, after Reconvert): the spiking network's
//     weights are copied into an ANN of the same architecture with ReLU
//     neurons, and class visualisation runs on it: starting from uniform
//     random 8-bit pixels, N − 1 plain-SGD steps of size η = 6 (weight decay
//     1e-4) raise the target class's logit, the image is re-quantised to 8
//     bits after every step and blurred (GaussianBlur, Pillow's
//     GaussianBlur(radius = 1) bit for bit) before every fourth.
//   - Attack 2 (RunSNNGradient): gradients through the spiking network
//     itself. One surrogate-gradient backpropagation through time gives the
//     gradient of the target's accumulated output at conv1's output current
//     at every step; averaged over time and deconvolved with conv1's
//     weights it updates the image by ζ = 0.01, N = 150 times.
//   - Attack 3 (RunInversion): the strongest white-box inversion of the
//     spiking network built here. Surrogate gradients flow through all
//     steps to the input (the Poisson encoder is straight-through, or the
//     attacker feeds the analog image directly); Adam optimises a
//     tanh-bounded image under total-variation and L2 priors with random
//     jitter, from several restarts. BrainLeaks' population rule is an
//     option.
//
// Every attack returns a Result: the images as 8-bit pixels (the form they
// are saved and scored in), the same images normalised as the model's
// input, and the attacked model's own logits for them. Package leakage
// scores them with an independent evaluator; package audit runs the
// attacks against several models side by side.
//
// # Randomness and errors
//
// Each attack draws its initial images, Poisson spikes and jitter from the
// *rand.Rand it is given; the same seed gives the same images. Options
// have Validate methods; the attacks return errors for invalid options,
// targets outside the model's classes, non-finite logits or gradients
// (ErrNonFinite), cancellation and the progress callback's errors. Each
// attack reports progress.Report{Label: "steps"} after every optimisation
// step; a callback's error stops it (wrapped in a *progress.StopError).
// GaussianBlur panics on a buffer whose length does not match its
// dimensions, a programmer error.
package attack
