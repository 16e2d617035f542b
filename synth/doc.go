// Package synth generates PrivateSNN's data-free synthetic training set from
// a trained ANN (the paper's Algorithm 2, step 1): class-similarity Dirichlet
// soft labels, images optimised towards them with package invert, saved as
// 8-bit PNGs in numbered class folders plus a compact binary file.
//
// # Overview
//
// ClassSimilarity takes the cosine similarity of the rows of the last
// fully-connected layer; Concentrations min–max normalises each row (the
// diagonal becomes 1, the least similar class exactly 0). For every image of
// class c, Generate draws uniform 8-bit pixels, normalises them
// (x = 2·u8/255 − 1 for the reference's 0.5/0.5), draws one soft label
// y ~ Dir(row c) with Dirichlet (Marsaglia–Tsang Gamma draws), and
// minimises the soft cross-entropy −Σ y_k log softmax(z/τ)_k, τ = 20, with
// Adam on the pixels. A zero concentration gives y_k = 0 exactly
// (ZeroConcentration). The optimised images are quantised as
// the reference saves them: p = x/2 + 0.5, clipped to [0, 1], round(p·255).
// The image keeps its folder class c even when the ANN, or its own soft
// label, favours another class.
//
// Generate reports per class how often the ANN's argmax on the saved image
// is the folder class and how often it is the argmax of the image's own soft
// label; the latter is the convergence criterion. WriteDir stores
// cls{c}/img{i}.png, synth.bin (format documented in format.go; ReadBinary
// and Load read it back with full validation), grid.png (one row per class,
// like the paper's Fig. 2) and manifest.json (seed, schedule, model,
// counts, statistics, training_data_accessed: false).
//
// Schedules. The reference runs 2,499 Adam steps per image at lr 1e-3
// (1,499 for MNIST-like inputs), one image at a time. Adam moves each pixel
// by about lr per step regardless of gradient scale, so lr × steps is the
// distance a pixel can travel; the fast schedule (FastIterations steps at
// FastLR, the default) spends a larger budget in 10–17× fewer passes, and
// images are optimised in batches, which changes speed but not results.
//
// Data-freeness: this package reads only the model given to it and never
// imports the real-data readers (package data); a test in the module root
// enforces that.
//
// # Error handling
//
// Options.Validate, Generate, WriteDir and the readers return errors with
// context; a hostile binary file makes ReadBinary fail, never panic or
// allocate more than the file holds. Gamma panics on a negative shape, a
// programmer error; Dirichlet returns an error for invalid concentrations.
//
// # Concurrency
//
// Generate uses the model for its whole duration; do not share a model
// between concurrent calls. The network's matrix products use all cores the
// GEMM backend is given. Results depend only on the options (seed included)
// and the GEMM thread count. Other functions are safe for concurrent use on
// different values.
package synth
