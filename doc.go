// Package privatesnn is the root of a Go library and command that implement
// PrivateSNN (Kim, Venkatesha and Panda, AAAI 2022): a trained VGG-style ANN
// is turned into an energy-efficient spiking network without touching the
// training data, its class information is hidden by class-encryption
// training, what it still leaks is audited, and one command runs it all and
// writes a report.
//
// The packages, in import order:
//
//   - progress: the one progress contract (a callback that receives
//     reports and can stop a run); libraries never print.
//   - tensor: dense float32 arrays.
//   - imageset: 8-bit image sets, the pixel normalisation, the crop/flip
//     augmentation, the box blur and PNG output (pictures, the labelled
//     grid, class folders), shared by the data readers and the data-free
//     side.
//   - internal/gemm: the BLAS seam (OpenBLAS via dlopen, pure-Go fallback).
//   - nn: layers with forward and backward passes (input gradients included).
//   - loss, optim: losses (cross-entropy, soft labels, distillation) and optimisers.
//   - vgg: the VGG family of the reference, with PyTorch weight names.
//   - internal/atomicfile: atomic file writes for every package that saves.
//   - safetensors, modelfile: weight files and JSON model cards, with
//     checkpoints, references between artifacts, and the import of a bare
//     PyTorch state_dict.
//   - snn: the multi-step spiking simulator (dense and event-driven kernels)
//     and its backpropagation through time (surrogate gradients).
//   - energy: MAC/AC operation counts and energy of an ANN and its SNN.
//   - convert: threshold balancing of an ANN into an SNN on given images.
//   - invert, synth: class images optimised from the ANN's weights alone.
//   - encrypt: class-encryption training of a converted SNN on synthetic
//     images, with distillation from its ANN.
//   - attack: model-inversion attacks (the paper's Attack 1 and 2, and an
//     SNN-aware inversion) that read a model's weights only, and the
//     Pillow-exact blur they use.
//   - leakage: leakage scores of attack images under an independent
//     evaluator (hit rates, Fréchet distance in its features).
//   - audit: attacks against several models scored side by side with
//     reference rows, and their images and tables.
//   - report: the run's report as Markdown and self-contained HTML, with
//     plots.
//   - data: data set readers (IDX, CIFAR, image folders).
//   - train: the training loop.
//   - pipeline: the stages as one graph, each stage's output in a
//     directory named by the hash of its settings and inputs, cached and
//     resumable, and the report of a run.
//   - cmd/privatesnn: the command.
//
// Configs holds the shipped pipeline configurations (configs/*.toml).
//
// The import rules are enforced by layering_test.go, including that the
// data-free packages (synth, invert, convert, encrypt, snn, energy, attack,
// leakage, audit, report and what they import) cannot reach package data.
package privatesnn
