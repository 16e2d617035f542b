// Package stagelock is an advisory lock on a stage directory, so that two
// worker processes, on one node or on several nodes sharing the directory
// over NFS, never run the same stage at once.
//
// The lock is a POSIX record lock (fcntl F_SETLK, write lock over the whole
// file) on a lock file whose path the caller chooses, typically a file inside
// the stage directory. The directory must exist; the file is created if
// missing and is never removed: removing it while another process has it
// open would let two processes lock two different files under one name.
//
// # Stale locks
//
// The kernel drops a process's record locks when the process exits for any
// reason, including SIGKILL; on NFSv4 the server drops a lost client's locks
// when its lease expires. A lock file left behind by a dead holder therefore
// carries no lock and is simply acquired again. There is no timeout-based
// stealing.
//
// # Holder record
//
// After acquiring, the holder writes a JSON [Holder] (host, pid, time) into
// the file (truncate, write, fsync). [Query] asks the kernel (F_GETLK) whether
// the file is locked without taking the lock and reports the recorded holder.
// The kernel's pid is only meaningful for a holder on this host; it is used
// when the record is missing, unreadable, or names this host with a
// different pid (a holder that has not yet written its record). When the
// file is not locked, Query reports the last recorded holder with held=false.
// Query reports held=false for a missing file and does not create it.
//
// # Within one process
//
// Record locks do not conflict within a process, and a process loses all its
// record locks on a file when it closes any descriptor of that file. The
// package therefore keeps a process-wide registry keyed by the cleaned
// absolute path (parent directory symlinks resolved): a second [TryAcquire]
// of a path this process holds fails with [ErrHeld], and [Query] on such a
// path answers from the registry without opening the file. Spelling one file
// by two paths in one process that the registry cannot relate (a symlinked
// lock file, a hard link, a second mount) defeats this; use one path.
//
// # Other systems
//
// On systems without the unix build tag, TryAcquire, Acquire and Query
// return an error wrapping [errors.ErrUnsupported]; there is no
// O_EXCL-and-timeout fallback.
package stagelock
