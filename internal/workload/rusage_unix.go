//go:build unix

package workload

import (
	"os"
	"runtime"
	"syscall"
)

func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// maxRSSBytes converts ru_maxrss to bytes: kibibytes on Linux and most
// unixes, bytes on Darwin.
func maxRSSBytes(v int64) int64 {
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return v
	}
	return v << 10
}

// PeakRSS returns this process's peak resident set size so far
// (getrusage(RUSAGE_SELF).ru_maxrss), in bytes, or -1.
func PeakRSS() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return maxRSSBytes(int64(ru.Maxrss))
}

// ChildPeakRSS returns the peak resident set size of the exited child
// process ps (its ru_maxrss from wait4), in bytes, or -1.
func ChildPeakRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return -1
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return -1
	}
	return maxRSSBytes(int64(ru.Maxrss))
}
