//go:build !unix

package workload

import "os"

func processCPUSeconds() float64 { return 0 }

// PeakRSS returns this process's peak resident set size so far, in bytes,
// or -1 where it cannot be read (here).
func PeakRSS() int64 { return -1 }

// ChildPeakRSS returns the peak resident set size of the exited child
// process ps, in bytes, or -1 where it cannot be read (here).
func ChildPeakRSS(ps *os.ProcessState) int64 { return -1 }
