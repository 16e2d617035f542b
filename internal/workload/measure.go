package workload

import (
	"slices"
	"time"
)

// Timing is the result of Measure.
type Timing struct {
	Median time.Duration // of one run
	Runs   int           // timed runs
	// OtherLoad is the share of the machine's CPU time that other processes
	// used while the runs were timed (machine-wide busy time from
	// /proc/stat minus this process's CPU time, over wall time × CPUs), as
	// scripts/bench_torch.py's other_cpu_load; -1 where it cannot be read.
	// Values well above 0 mean the timing competed with other work.
	OtherLoad float64
}

// Measure runs f warmup times, then times it at least minRuns times and for
// at least minTime, and returns the median run time and the competing load.
func Measure(f func(), warmup, minRuns int, minTime time.Duration) Timing {
	for range warmup {
		f()
	}
	var ds []time.Duration
	load := startLoad()
	start := time.Now()
	for len(ds) < minRuns || time.Since(start) < minTime {
		t := time.Now()
		f()
		ds = append(ds, time.Since(t))
	}
	other := load.other(time.Since(start))
	slices.Sort(ds)
	return Timing{Median: ds[len(ds)/2], Runs: len(ds), OtherLoad: other}
}

// minLoadWindow is the shortest measurement whose competing load is
// reported (ten clock ticks of /proc/stat).
const minLoadWindow = 100 * time.Millisecond

// loadProbe is the CPU time of the machine and of this process at the
// start of a measurement.
type loadProbe struct {
	busy, self float64 // seconds
	cpus       int
	ok         bool
}

func startLoad() loadProbe {
	busy, cpus, ok := machineBusySeconds()
	return loadProbe{busy: busy, self: processCPUSeconds(), cpus: cpus, ok: ok && cpus > 0}
}

// other returns the share of the machine other processes used since p.
func (p loadProbe) other(wall time.Duration) float64 {
	busy, _, ok := machineBusySeconds()
	if !p.ok || !ok || wall <= 0 {
		return -1
	}
	ours := processCPUSeconds() - p.self
	// /proc/stat counts in clock ticks (10 ms), so a window shorter than
	// a few ticks has no meaningful share: report it as unknown.
	if wall < minLoadWindow {
		return -1
	}
	v := min(1, max(0, busy-p.busy-ours)/(wall.Seconds()*float64(p.cpus)))
	return float64(int(v*1000+0.5)) / 1000
}
