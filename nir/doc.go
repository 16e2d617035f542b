// Package nir writes privatesnn's networks as NIR graphs (Neuromorphic
// Intermediate Representation, version 1.0) and reads NIR graphs of the
// same shape back, so that a converted and class-encrypted SNN can be run
// by the simulators and neuromorphic toolchains that read NIR, and a
// network made elsewhere can be evaluated, encrypted and audited here.
//
// # Overview
//
// A NIR file is an HDF5 file (package hdf5): a root "version" string and a
// group "node" of type "NIRGraph" holding one group per node, an "edges"
// array of (source, destination) names, and a "metadata" group. Export
// turns a VGG network of privatesnn into the chain
//
//	input (Input) → conv1 (Conv2d) → if_conv1 (IF) → … → pool1 (AvgPool2d
//	or SumPool2d) → … → flatten (Flatten) → fc1 (Linear) → if_fc1 (IF) → …
//	→ fcL (Linear) → readout (I) → output (Output)
//
// Convolutions are 3×3, stride 1, padding 1, with a zero bias; every IF
// neuron has r = 1, v_threshold = its layer's threshold θ, and v_reset = 0.
// An ANN is written as the same chain without IF and I nodes.
//
// # Semantics
//
// NIR's IF neuron is a continuous-time equation with a reset to v_reset
// and a zero initial state. privatesnn's neurons step in discrete time and
// three things NIR cannot say are recorded in the metadata instead, under
// the keys MetaKey… (all prefixed "privatesnn."):
//
//   - reset by subtraction (MetaReset "subtract"): after a spike the
//     membrane keeps v − v_threshold; a reader that applies v_reset = 0
//     runs a hard-reset network, which is less accurate at small T;
//   - an initial membrane of a fraction of v_threshold (MetaInitMembrane,
//     0.5 for the default conversion), or one per channel where the
//     conversion corrected them (MetaChannelInit); NIR readers start at 0;
//   - the input encoding (MetaEncoder): "direct" feeds the normalised
//     image x = (p/255 − mean)/std (MetaNormMean, MetaNormStd) at every
//     step, "poisson" feeds sign(x) with probability |x| per step.
//
// One step is MetaStep's: v = leak·v + r·I(t); a spike when v > v_threshold
// (strict, as NIR's IF); then the reset. The class is the argmax of the I
// node's v after T steps (MetaTimesteps), the sum of the last layer's
// input. A network converted with reset "zero", initial membrane 0 and
// direct input is expressed exactly by NIR's own semantics.
//
// SumPool2d (Pooling SumPool) writes a 2×2 sum pool and multiplies the next
// layer's weights by 1/4, which computes the same currents exactly (a
// power-of-two scaling); Import undoes it.
//
// Import reads such chains, from this package or written by another
// framework with NIR's library: per-channel thresholds and r are folded
// into the incoming weights (see Imported.Notes), a uniform readout r is
// folded into the last weights, anything else that privatesnn's networks
// cannot compute (biases, LIF or CubaLIF neurons, other kernel sizes or
// strides, branches, a spiking output layer) is an error wrapping
// ErrNotSupported that names the node.
//
// # Error handling
//
// Every malformed or unsupported file is an error naming the node or key;
// nothing panics on file contents.
//
// # Concurrency
//
// Functions are safe for concurrent use on different values.
package nir
