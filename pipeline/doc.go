// Package pipeline runs privatesnn's stages as one graph from a
// configuration file.
//
// # Stages and their directories
//
// Build turns a Config into a Graph: ann → synth → convert → encrypt (and
// the ablation, sample-count and frontier encryptions) → eval-* → eval,
// and the evaluators, audit and energy. Every stage's output goes in
// Workdir/<name>-<hash>, the hash taken over its settings, its inputs'
// hashes, the format version and the thread count; its stage.json (Record)
// is written last and atomically, so a directory without it is unfinished
// and the next run resumes it. Graph.Run runs what is not done, in order.
//
// # Sweeps
//
// A setting given as a list it does not take as a whole is swept
// (ParseSweep): every combination of the lists is a Point, and the points
// share one work directory, so a stage they share is made once. Sweep.Jobs
// lists the distinct stages with their needs and levels. ExecuteSweep runs
// the points in turn and writes a summary report; Sweep.RunJobs runs the
// jobs through a Launcher (the command starts worker processes), up to N
// at once; Sweep.RunJob is one worker's task; EmitSlurm and EmitK8s write
// submissions that run every job as a task of a cluster. A worker holds a
// lock on its stage's directory (internal/stagelock), so two workers never
// write one stage.
//
// # Threads
//
// The thread count enters every stage's hash: OpenBLAS and oneDNN sum in
// another order with another thread count, so a stage's bytes are
// reproducible for one seed and one thread count. Workers that share a
// work directory run with one thread count.
package pipeline
