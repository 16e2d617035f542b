//go:build unix

package snn

import "syscall"

// cpuSeconds returns the user and system CPU time of the process, for
// benchmarks on machines shared with other work (where wall time varies).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
