package main

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/internal/workload"
)

// runMainEnv, when "1", makes this package's test binary run the command
// line it was given instead of the tests. TestMain sets it for the test
// process, so that a command re-executing itself (bench's BPTT child
// process, via os.Executable) reaches run in the child.
const runMainEnv = "PRIVATESNN_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Setenv(runMainEnv, "1")
	os.Exit(m.Run())
}

// TestBenchBPTT runs the BPTT workload on a tiny setting, alone in this
// process (--only bptt) and in a child process after the ANN workloads.
func TestBenchBPTT(t *testing.T) {
	var alone workload.Result
	runJSON(t, &alone, "bench", "--only", "bptt", "--bptt-timesteps", "3", "--bptt-batch", "4", "--bptt-runs", "2", "--time", "1ms")
	if alone.BPTTItemsPerS <= 0 || alone.BPTTRuns < 2 || alone.BPTTTimesteps != 3 || alone.BPTTBatch != 4 ||
		len(alone.BPTTSpikeRates) != 5 || len(alone.BPTTThresholds) != 5 || alone.BPTTTapeMiB <= 0 {
		t.Fatalf("--only bptt: %+v", alone)
	}
	if alone.ANNTrainStepItemsPerS != 0 || alone.Sgemm1024GFLOPS != 0 {
		t.Fatalf("--only bptt ran other workloads: %+v", alone)
	}
	if !strings.Contains(alone.BPTTRSSMethod, "RUSAGE_SELF") {
		t.Errorf("--only bptt: RSS method %q", alone.BPTTRSSMethod)
	}
	var both workload.Result
	runJSON(t, &both, "bench", "--only", "ann,bptt", "--batch", "2", "--time", "1ms", "--bptt-timesteps", "3", "--bptt-batch", "4", "--bptt-runs", "2")
	if both.ANNTrainStepItemsPerS <= 0 || both.BPTTItemsPerS <= 0 || both.BPTTBatch != 4 || len(both.BPTTSpikeRates) != 5 {
		t.Fatalf("ann,bptt: %+v", both)
	}
	if runtime.GOOS == "linux" {
		for _, r := range []workload.Result{alone, both} {
			if r.BPTTPeakRSSMiB <= 0 || r.BPTTRSSBeforeMiB <= 0 {
				t.Errorf("RSS peak %v MiB, before %v MiB", r.BPTTPeakRSSMiB, r.BPTTRSSBeforeMiB)
			}
			if _, ok := r.OtherCPULoad["bptt_train_step"]; !ok {
				t.Errorf("other_cpu_load %v has no bptt_train_step", r.OtherCPULoad)
			}
		}
		if !strings.Contains(both.BPTTRSSMethod, "child process") {
			t.Errorf("ann,bptt: RSS method %q, want the child's", both.BPTTRSSMethod)
		}
	}
}
