// Package data loads the labelled image datasets privatesnn trains,
// converts and tests on, and turns them into normalised mini-batches.
//
// # Overview
//
// A Set holds N images of one shape as 8-bit pixels, image-major and CHW
// within an image, with int32 labels 0..Classes-1. Readers build a Set from
//
//   - IDX files (MNIST, Fashion-MNIST), gzip or raw: ReadIDX, DecodeIDX;
//   - the binary version of CIFAR-10 and CIFAR-100 (fine labels):
//     ReadCIFAR10, ReadCIFAR100, DecodeCIFAR10, DecodeCIFAR100;
//   - a folder with one PNG sub-folder per class, such as the synthetic
//     images of PrivateSNN's generation step: ReadImageFolder. The class id
//     is the number a sub-folder's name ends with ("cls12" → 12), not its
//     position in sorted order, which fixes the reference code's label
//     permutation for 10 or more classes. WriteImageFolder
//     writes the same layout.
//
// Load finds the standard datasets by name: "fashion-mnist" (Debian
// package dataset-fashion-mnist), "mnist" (the GoMNIST module's data/
// folder in the Go module cache), "cifar10"/"cifar100" (a directory must be
// given), "folder", and "embedded", a 5,000/1,000-image Fashion-MNIST subset
// compiled into the binary so programs run with no setup.
//
// Set is package imageset's Set. For training, Shuffle gives an epoch's
// order and Set.FillBatch with Table writes a mini-batch as NCHW float32
// normalised to [-1, 1] ((p/255 − 0.5)/0.5 computed in float64, the
// normalisation privatesnn trains and evaluates with), optionally with
// random zero-padded crops and horizontal flips (imageset.Augment).
//
// # Error handling
//
// Readers never panic on bad input and never allocate on the word of a
// header alone: headers are checked against MaxImages, MaxSide,
// MaxChannels, MaxClasses and MaxTotalBytes, and buffers grow only as data
// actually arrives. Every error names the file (or the stream name given to
// a Decode function) and the problem, as in
// "read /x/train-images-idx3-ubyte.gz: pixel data: got 1000 of 47040000 bytes …",
// and wraps one of ErrFormat, ErrTruncated, ErrLimit, ErrLabel or
// ErrMismatch (or the underlying I/O error) for errors.Is. Set.Subset and
// Set.FillBatch panic on out-of-range indices or wrongly sized buffers,
// which are programming errors rather than data errors. Nothing in the
// package prints.
//
// # Concurrency
//
// Readers and Load are safe to call concurrently. A Set is plain data: any
// number of goroutines may read it (Subset, FillBatch, Validate)
// concurrently as long as none modifies it. FillBatch writes only to the
// buffers it is given; concurrent calls need distinct buffers and distinct
// *rand.Rand values, since rand.Rand is not safe for concurrent use.
// Randomness comes only from the *rand.Rand passed in, so results are
// reproducible from a seed.
package data
