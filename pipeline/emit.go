package pipeline

// EmitSpec is what a scheduler's submission needs to run a sweep's stages
// as independent tasks: every task runs Binary with Args plus
// "--stage ID" (or, for an indexed job, "--stage-index N --wait") in a
// work directory every node shares.
type EmitSpec struct {
	// Name labels the submission (job names, the manifest's name); it is
	// the configuration's name.
	Name string
	// Binary is the privatesnn executable as the nodes see it; Config the
	// configuration file and Workdir the shared work directory, both
	// absolute.
	Binary, Config, Workdir string
	// Threads is each task's thread count (it enters the stages' hashes,
	// so every task must run with it): Slurm's --cpus-per-task, the pod's
	// CPU request.
	Threads int
	// Jobs are the stages in an order where every dependency comes first.
	Jobs []EmitJob
	// Image is the Kubernetes manifest's container image (with Binary in
	// it); Claim the PersistentVolumeClaim every pod mounts at Mount, the
	// directory that holds Config and Workdir. Slurm ignores all three.
	Image, Claim, Mount string
	// Parallel is the Kubernetes Job's parallelism, the most pods that run
	// at once; 0 takes the most stages not Done that share a Level (at
	// least 1). Either way it is at most len(Jobs)+1.
	Parallel int
}

// Task arguments: every task runs Binary with "run", Config, "--workdir",
// Workdir, "--threads", Threads and then one of
//
//	--stage ID              one stage (Slurm array tasks)
//	--stage-index N --wait  the N-th of Jobs, after waiting for its
//	                        dependencies, or with N = len(Jobs) the
//	                        reports (Kubernetes indexed pods)
//	--report [--wait]       the reports, once every stage is done
//
// Every stage task is idempotent: a finished stage returns at once, and a
// stage another worker holds is waited for.

// EmitJob is one stage of a submission.
type EmitJob struct {
	// ID names the stage and its directory (Workdir/ID): "encrypt-1a2b3c4d5e6f".
	ID string
	// Deps are the IDs of the stages it needs.
	Deps []string
	// Level is the length of the longest chain of dependencies below it:
	// 0 for a stage that needs none.
	Level int
	// Done marks a stage finished when the submission was written.
	Done bool
}
