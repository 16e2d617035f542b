package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/internal/gemm"
)

// dataFlags selects a data set.
type dataFlags struct {
	name, dir string
	limit     int
}

func (d *dataFlags) register(fs *flag.FlagSet, def string) {
	fs.StringVar(&d.name, "data", def, "data set: embedded, fashion-mnist, mnist, cifar10, cifar100, folder")
	fs.StringVar(&d.dir, "data-dir", "", "directory holding the data set files (default: its standard place)")
	fs.IntVar(&d.limit, "limit", 0, "use only the first N images of each split (0 = all)")
}

func (d *dataFlags) load(split string) (*data.Set, error) {
	s, err := data.Load(d.name, split, d.dir)
	if err != nil {
		return nil, err
	}
	if d.limit < 0 {
		return nil, fmt.Errorf("%w: --limit %d is negative", errUsage, d.limit)
	}
	if d.limit > 0 && d.limit < s.Len() {
		idx := make([]int, d.limit)
		for i := range idx {
			idx[i] = i
		}
		s = s.Subset(idx)
	}
	return s, nil
}

// setThreads applies --threads to the Go scheduler and the BLAS pool.
func setThreads(n int) error {
	if n < 0 || n > 1024 {
		return fmt.Errorf("%w: --threads %d out of range", errUsage, n)
	}
	if n == 0 {
		n = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(n)
	gemm.SetThreads(n)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// version returns the module version of this binary.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return "privatesnn " + bi.Main.Version
	}
	return "privatesnn (devel)"
}

// outputFlags registers the --json, --quiet and --threads flags that the
// long-running commands share.
func outputFlags(fs *flag.FlagSet, jsonOut, quiet *bool, threads *int) {
	fs.BoolVar(jsonOut, "json", false, "print the result as one JSON object")
	fs.BoolVar(quiet, "quiet", false, "no progress on stderr")
	fs.IntVar(threads, "threads", 0, "threads to use (0: all cores)")
}
