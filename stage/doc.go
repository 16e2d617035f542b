// Package stage runs privatesnn's stages — train or import an ANN,
// synthesise class images, convert, class-encryption training, evaluate,
// attack and audit, estimate the energy, compare calibrations — on loaded
// values. It is the one layer under both front ends: the privatesnn
// command parses flags into a stage's job and calls its function; the
// pipeline builds the same jobs from a configuration.
//
// # Overview
//
// Every stage has one shape:
//
//	func X(ctx context.Context, j XJob, p progress.Func) (*XResult, error)
//
// A job holds loaded inputs (a *Model from LoadModel, a *Synthetic from
// LoadSynthetic, image sets the caller read), the output directory where
// the stage writes one, and the stage's settings: a type shared with the
// pipeline's configuration (synth.Settings, convert.Settings,
// EncryptSettings, TrainSettings, audit.Settings, …) whose zero and nil
// values mean the library's defaults, resolved here, so that a command
// line and the equivalent configuration give the same job. Before its work
// a stage reports an event whose Detail is a Start (its String says what
// the stage is about to do); then its algorithm's reports follow.
//
// This package never reads a real data set: it does not import package
// data, and the stages that learn from or are scored on real images
// (Train, Import, Eval, Energy, Audit, CompareCalibration) take the images
// from their caller. Synth, Convert, Encrypt and Attack read model weights
// and synthetic images only, and their artifacts record
// training_data_accessed false.
//
// # Error handling
//
// An input that does not fit the stage — a model of the other kind, a set
// made from another ANN, images of another shape, a data set of other
// classes — is an *InputError naming the input's Role, so that a front end
// can word it in its terms (a flag, a configuration key). Settings that do
// not fit are setting errors named by their configuration key (package
// setting). Everything else is a failure, wrapped with context.
//
// # Artifacts
//
// Train and Encrypt keep a checkpoint in their output directory at every
// epoch and when stopped, and continue it with Resume (ErrNothingToResume
// without one; a run resumed with other settings — for a training, other
// data, architecture or options but the epoch count — fails with
// ErrSettingsChanged naming the recorded ones); a checkpoint in the middle
// of an epoch keeps the epoch's running sums and the run's time, so the
// resumed run's history and time are the whole run's. A finished model
// replaces the checkpoint. Model files are written atomically by package
// modelfile.
//
// Before any work every stage that writes checks its output directory:
// one that is, holds or lies inside an input is an *OutError, whether the
// caller named the input or the stage finds it through a card (the models
// an SNN's parents lead to, the teacher); one that is a file, holds
// another kind of artifact (a model, a synthetic set, an attack, an
// audit) or holds a file the stage would write that no record of an
// earlier artifact of its kind lists is a *DirError. A stage
// replaces only the files the earlier record lists, and removes those it
// does not write again; anything else in the directory stays. CheckOut
// lets a front end refuse the first two before it loads anything.
package stage
