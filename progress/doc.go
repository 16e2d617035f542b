// Package progress is the one contract by which the libraries of this
// module report progress and by which a caller can stop a run.
//
// A library that runs for long takes a Func and calls it, through the
// nil-safe Func.Report, after each unit of work: a training step, a batch
// of images, a layer, a candidate. Each call passes a Report: what is
// counted (Label), how many units are done of how many (Done, Total),
// named measurements in a fixed order (Values) and, where the library has
// typed data that callers need for more than display, a Detail value whose
// type the library documents (for example *train.EpochResult at the end of
// an epoch).
//
// # The contract
//
//   - A nil Func is allowed and costs nothing: libraries call f.Report,
//     which does nothing for a nil f.
//   - A non-nil error returned by the Func stops the run promptly: the
//     library does no further unit of work, keeps what it already keeps on
//     a cancellation (a training run saves its checkpoint) and returns an
//     error that wraps the callback's error in a *StopError, so that
//     errors.Is and errors.As find the callback's error.
//   - Calls happen on the goroutine that called the library, one at a
//     time, never concurrently, so a Func needs no locking of its own.
//   - 0 ≤ Done ≤ Total in every report. A report with Total 0 counts
//     nothing: it marks an event (a stage starting, a run resuming)
//     described by Label.
//   - Libraries report at most once per unit of work, never per pixel or
//     neuron, and do no work for a report beyond building it; drawing at
//     a readable rate (throttling) is the Func's business. A Func should
//     return quickly: the run waits for it.
//
// Libraries never print; the command shows the reports (a live bar on a
// terminal, plain lines otherwise) and prints its results on stdout.
// Code that runs several stages (a pipeline, an audit of several attacks)
// forwards its parts' reports through WithStage, so that every report
// says which stage it comes from.
package progress
