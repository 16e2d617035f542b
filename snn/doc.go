// Package snn simulates the spiking counterpart of a VGG network: the same
// weights, integrate-and-fire neurons with one threshold per layer, a signed
// Poisson (or direct) input encoding, average pooling of spikes, and an
// output layer that accumulates its membrane potential over T time steps.
//
// # Overview
//
// A Network wraps a vgg.Model (sharing its weights) with a Config:
// Timesteps, Leak λ, Reset mode, Encoder, Thresholds and InitMembrane. For
// hidden layer l at step t:
//
//	U[0] = InitMembrane·θ            (0 in the reference; per channel: ChannelInit[l][c]·θ)
//	I[t] = W ∗ o_{l−1}[t]            (3×3 conv or linear, no bias)
//	U[t] = λ·U[t−1] + I[t]           (integrate first)
//	o[t] = 1 if U[t] > θ else 0      (strict >)
//	U[t] ← U[t] − θ·o[t]  (subtract)  or  U[t]·(1 − o[t])  (zero)
//
// The output layer has no threshold: U_L = Σ_t W_L·o_{L−1}[t], not divided
// by T; its argmax is the prediction.
//
// With Signed (reset by subtraction only) a neuron also takes spikes back:
// with q[t] its net count Σ_{s<t} o[s],
//
//	o[t] = −1 if U[t] < 0 and q[t] > 0   (strict <)
//	U[t] ← U[t] − θ·o[t]                 (so U rises by θ)
//
// which corrects the rate error of a neuron that fired early on a surplus
// of input that later input cancels. Spike counts count spikes of either
// sign; the surrogate gradient adds σ'(U/θ) where q[t] > 0.
//
// With Burst = G ≥ 2 (reset by subtraction only) a neuron fires several
// spikes in one step:
//
//	o[t] = max{k ∈ 0..G : U[t] > k·θ}   (strict >)
//	U[t] ← U[t] − θ·o[t]
//
// and the next layer receives the count o[t]. Spike counts and synaptic
// operations count every spike; the surrogate gradient is
// Σ_{k=1..G} σ'(U/θ − k). With Signed as well, a neuron that fires no
// positive spike fires −1 as a signed neuron does.
//
// Simulation is multi-step: each layer processes all T steps of a chunk of
// images before the next layer runs. That is the same arithmetic as stepping
// the whole network once per t (the neuron recurrence is per layer), but it
// turns T small operations into one large one. When a layer's input is
// sparse (spikes, pooled spikes), its synaptic operation is event-driven:
// for every non-zero input, the weight row of that input is added to the
// outputs it reaches, instead of a dense GEMM; the choice is made per layer
// and per chunk from the measured input density. Activations are stored
// channels-last (NHWC) so that each event adds one contiguous vector of
// Cout weights. With Direct input the first layer's input, and hence its
// current, is the same at every step, so that current is computed once per
// image and fed to the neurons at all T steps.
//
// Result counts, per layer, spikes, non-zero inputs and the accumulations
// an event-driven kernel performs, both over the whole run and up to every
// readout step, so that accuracy and activity against T come from one run.
//
// Staged simulates a fixed batch one spiking layer at a time, keeping each
// layer's output spikes as bits, so that threshold balancing does not have
// to re-simulate the earlier layers for every layer it sets.
//
// # Training: backpropagation through time
//
// Forward runs a batch in training mode (dropout masks drawn once per
// image and fixed over all T steps) and returns a Tape; Tape.Backward takes
// ∂L/∂S for the summed output potential S and adds ∂L/∂W to the model's
// gradients. The spike's derivative is a surrogate (Surrogate: the
// reference's triangle (γ/θ)·max(0, 1 − |U/θ − 1|) with γ = 0.3, a fast
// sigmoid or an arctangent), the reset is detached, and thresholds and
// leak get no gradient. Going back in time each layer solves
//
//	∂L/∂U[t] = ∂L/∂o[t]·σ'(U[t]) + λ·∂L/∂U[t+1]·r[t]
//
// with r[t] = 1 for a subtractive reset and 1 − o[t] for a reset to zero,
// in one pass over all steps, and then computes its weight gradient as
// one GEMM or event-driven accumulation over all T·B planes and its input
// gradient as one transposed convolution. The tape keeps each layer's
// spikes as bits; the membrane potentials are recomputed layer by layer
// from the stored input spikes during Backward, so memory grows with the
// bits of the spikes, not with T floats per neuron. Batches are processed
// in chunks of images bounded by TrainOptions.MemoryBudget.
//
// Network.TrainStep does both passes for a loss whose gradient for an
// image depends only on that image's logits (such as cross-entropy): each
// chunk is propagated back right after its forward pass, from the layer
// inputs and surrogate derivatives still in memory, so nothing is
// recomputed; the results are Forward and Backward's, bit for bit.
//
// # Error handling
//
// Configuration problems (a threshold count that does not match the
// network, T < 1, a non-positive threshold) are errors from Config.Validate
// and New. Kernels panic on programmer errors such as mismatched lengths.
//
// # Concurrency
//
// A Network is read-only during simulation and may be shared by goroutines
// that each call Run; Run itself uses all GOMAXPROCS cores.
package snn
