// Package privatesnn is the root of a Go library and command that implement
// PrivateSNN (Kim, Venkatesha and Panda, AAAI 2022): a trained VGG-style ANN
// is turned into an energy-efficient spiking network without touching the
// training data, class information is hidden in its weights, and the result
// is audited for leakage, accuracy and energy.
//
// The packages, in import order:
//
//   - tensor: dense float32 arrays.
//   - internal/gemm: the BLAS seam (OpenBLAS via dlopen, pure-Go fallback).
//   - nn: layers with forward and backward passes (input gradients included).
//   - loss, optim: losses (cross-entropy, soft labels, distillation) and optimisers.
//   - vgg: the VGG family of the reference, with PyTorch weight names.
//   - safetensors, modelfile: weight files and JSON model cards.
//   - data: data set readers (IDX, CIFAR, image folders) and augmentation.
//   - train: the training loop.
//   - cmd/privatesnn: the command.
//
// The import rules are enforced by layering_test.go.
package privatesnn
