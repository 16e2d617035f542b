package workload

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of /proc/stat's times (USER_HZ, 100 on every Linux
// architecture).
const userHZ = 100

// machineBusySeconds returns the busy CPU time of the whole machine (all
// of /proc/stat's first eight fields but idle and iowait, as
// scripts/bench_torch.py counts it) and the number of CPUs.
func machineBusySeconds() (float64, int, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	var busy float64
	cpus, ok := 0, false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) > 0 && f[0] == "cpu":
			if len(f) < 9 {
				return 0, 0, false
			}
			var v [8]float64
			for i := range v {
				x, err := strconv.ParseFloat(f[i+1], 64)
				if err != nil {
					return 0, 0, false
				}
				v[i] = x
			}
			for i, x := range v {
				if i != 3 && i != 4 { // idle, iowait
					busy += x
				}
			}
			ok = true
		case len(f) > 0 && strings.HasPrefix(f[0], "cpu"):
			cpus++
		}
	}
	return busy / userHZ, cpus, ok
}

// CurrentRSS returns the resident set size of this process now, in bytes
// (VmRSS of /proc/self/status), or -1.
func CurrentRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return -1
}
