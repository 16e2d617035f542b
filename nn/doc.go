// Package nn provides the layers of the VGG-style networks privatesnn trains
// and converts: 3×3 convolution, linear, ReLU, 2×2 average pooling, dropout
// with a reusable mask, and flatten, each with a hand-written backward pass,
// plus Sequential to chain them.
//
// # Overview
//
// A Layer maps a tensor to a tensor in Forward and maps the gradient of the
// loss with respect to its output back to its input in Backward, adding
// weight gradients to its Params when asked. Gradients with respect to the
// network's input are first-class (Grad.Input): synthesis and the attacks
// optimise images, and they skip the weight-gradient GEMMs (Grad.Weights
// false).
//
// Layout: Sequential takes NCHW input (batch, channels, height, width), as
// PyTorch does, but the convolutional part runs in CNHW (channel-major across
// the batch) so that every convolution is one large matrix product for the
// whole batch. ToCNHW starts that part and Flatten ends it, emitting
// [N, C·H·W] rows in PyTorch's (c, h, w) order, so weights import unchanged.
// Weights use PyTorch's shapes: conv [Cout, Cin, K, K], linear [Out, In].
//
// # Error handling
//
// Layers panic on programmer errors (a tensor of the wrong rank or channel
// count, Backward before Forward), with messages prefixed "nn:". Data-
// dependent problems are the caller's to check before calling.
//
// # Concurrency
//
// A layer caches activations between Forward and Backward, so one network
// value must not be used from two goroutines at once. Internally the heavy
// loops use all GOMAXPROCS cores; GEMMs run in package gemm's thread pool
// and oneDNN convolutions (when libdnnl is present) in oneDNN's OpenMP pool,
// both sized by gemm.SetThreads.
package nn
