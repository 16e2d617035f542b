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
//     itself, the paper's Algorithm 3. One surrogate-gradient
//     backpropagation through time gives the gradient of the target's
//     accumulated output at conv1's output current at every step; averaged
//     over time it is added to G, which Algorithm 3 sets to 0 once and
//     accumulates over the iterations (Accumulate; without it G is
//     recomputed at every iteration), and G deconvolved with conv1's
//     weights is δx. Two step rules turn δx into an update: the literal
//     one, x ← x + ζ·δx with the paper's ζ = 0.01 on the normalised image
//     (LiteralSNNGradient: N = 150, no accumulation), moves a pixel by
//     about a thousandth of a grey level per step, so its images stay the
//     random start; the grey rule, the default, moves every image by ζ
//     grey levels of root-mean-square change per update, along δx.
//     DefaultSNNGradient's ζ and N come from the SNN's own hit rate on its
//     attack images on a converted T = 8 Fashion-MNIST network.
//   - Attack 3 (RunInversion): the strongest white-box inversion of the
//     spiking network built here. Surrogate gradients flow through all
//     steps to the input (the Poisson encoder is straight-through, or the
//     attacker feeds the analog image directly); Adam optimises a
//     tanh-bounded image under total-variation and L2 priors with random
//     jitter, from several restarts. BrainLeaks' population rule is an
//     option.
//   - Attack 4 (RunANNInversion, after Reconvert): Attack 3's Adam rule,
//     priors and restarts against the re-converted ANN, with the ANN's
//     exact gradients of its cross-entropy: what Attack 3 finds when the
//     spiking dynamics are taken out of the way.
//   - Attack 5 (RunNES): gradient-free. Natural evolution strategies
//     estimate the gradient of the target's cross-entropy on the SNN's
//     output from antithetic pairs of Gaussian perturbations of a coarse
//     image (upsampled before every simulation), the two members of a
//     pair sharing their Poisson spikes; Adam follows the estimate. It
//     uses the network only as a black box: no surrogate, no weights.
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
