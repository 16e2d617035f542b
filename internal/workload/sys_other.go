//go:build !linux

package workload

func machineBusySeconds() (float64, int, bool) { return 0, 0, false }

// CurrentRSS returns the resident set size of this process now, in bytes,
// or -1 where it cannot be read (here).
func CurrentRSS() int64 { return -1 }
