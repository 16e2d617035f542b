// Package privatesnn is the root of a Go library and command that implement
// PrivateSNN (Kim, Venkatesha and Panda, AAAI 2022): a trained VGG-style ANN
// is turned into an energy-efficient spiking network without touching the
// training data, its class information is hidden by class-encryption
// training, what it still leaks is audited, and one command runs it all and
// writes a report.
//
// The packages, in import order (each imports only packages above it):
//
//   - progress: the one progress contract (a callback that receives
//     reports and can stop a run); libraries never print. setting: errors
//     that name a setting by its configuration key.
//   - tensor: dense float32 arrays; internal/gemm: the BLAS seam (OpenBLAS
//     via dlopen, pure-Go fallback); internal/dnnl: oneDNN convolutions;
//     internal/atomicfile: atomic file writes; internal/outdir: which kind
//     of artifact a directory holds and which of its files a writer may
//     replace; internal/stagelock: the lock a worker holds on a stage's
//     directory.
//   - imageset: 8-bit image sets, the pixel normalisation, the crop/flip
//     augmentation, the box blur and PNG output, shared by the data readers
//     and the data-free side. fit: the epoch and step loop of the training
//     stages, with checkpoints and stops. safetensors: weight files.
//   - nn: layers with forward and backward passes (input gradients
//     included); loss, optim: losses and optimisers; vgg: the VGG family of
//     the reference, with PyTorch weight names.
//   - snn: the multi-step spiking simulator (dense and event-driven
//     kernels, their C in .c files) and its backpropagation through time.
//   - energy: MAC/AC operation counts and energy of an ANN and its SNN;
//     leakage: leakage scores under an independent evaluator; invert: class
//     images optimised from a network's weights.
//   - The algorithms, on values in memory: train (supervised training),
//     convert (threshold balancing and the data-free selection), qcfs
//     (an ANN with quantised activations, for conversion at low T), encrypt
//     (class-encryption training with distillation), synth (class images
//     from the ANN alone), attack (model-inversion attacks) and audit
//     (attacks scored side by side with reference rows).
//   - modelfile: model cards and weights, checkpoints, references between
//     artifacts, the import of a bare PyTorch state_dict.
//   - stage: every stage of the pipeline on loaded values — the one layer
//     under the command and the pipeline; it reads no data set itself.
//   - report: the run's report as Markdown and self-contained HTML.
//   - data: data set readers (IDX, CIFAR, image folders, the embedded
//     subset).
//   - pipeline: the stages as one graph, each stage's output in a
//     directory named by the hash of its settings and inputs, cached and
//     resumable, and the report of a run; sweeps of list-valued settings,
//     run by local worker processes or submitted to Slurm or Kubernetes.
//   - cmd/privatesnn: the command: flags in, one stage function called,
//     results out.
//
// Configs holds the shipped pipeline configurations (configs/*.toml).
//
// The import rules are enforced by layering_test.go, including that the
// data-free packages (stage and every package it imports, report) cannot
// reach package data, and that the algorithms import neither modelfile nor
// synth's artifacts.
package privatesnn
