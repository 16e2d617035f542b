//go:build unix

package stagelock

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

const supported = true

// tryLock sets a write lock on the whole file without waiting; ok is false
// when another process holds a conflicting lock.
func tryLock(f *os.File) (ok bool, err error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	err = fcntl(f, unix.F_SETLK, &lk)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return false, nil
	}
	return err == nil, err
}

func unlock(f *os.File) error {
	lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: io.SeekStart}
	return fcntl(f, unix.F_SETLK, &lk)
}

// testLock reports whether another process holds a lock that would conflict
// with a write lock on the whole file, and the pid the kernel gives for it.
func testLock(f *os.File) (held bool, pid int, err error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := fcntl(f, unix.F_GETLK, &lk); err != nil {
		return false, 0, err
	}
	if lk.Type == unix.F_UNLCK {
		return false, 0, nil
	}
	return true, int(lk.Pid), nil
}

func fcntl(f *os.File, cmd int, lk *unix.Flock_t) error {
	for {
		err := unix.FcntlFlock(f.Fd(), cmd, lk)
		if err != unix.EINTR {
			return err
		}
	}
}
