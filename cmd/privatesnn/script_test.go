package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the golden files of the CLI scripts in testdata/script")

// TestScripts runs the txtar scripts in testdata/script. Each runs privatesnn
// commands in-process with "psnn ARGS" (prefix ! when the command must
// fail), checks the exit status with "status N", and compares stdout and
// stderr with the golden files in the archive ("cmp stdout name"). Run
// with -update to rewrite the golden files after an intended change; the
// diff then shows the change in the command layer. "env INTERRUPT_ON=RE"
// interrupts the next commands as Ctrl-C would (see interrupter).
//
// "env STOP_AFTER=N" interrupts every following command after its N-th
// training step, as Ctrl-C does (it exits 130 and leaves a checkpoint);
// "env STOP_AFTER=" ends that.
//
// Outputs are normalised before comparison (see normalise): the work
// directory, durations, rates, the GEMM backend and every decimal number
// are masked (a script can keep them, or mask integers too), because accuracies and timings differ between BLAS kernels
// and machines. The scripts check the command layer: texts, flags, exit
// codes, files; numerical results are tested elsewhere.
func TestScripts(t *testing.T) {
	// An absolute path: cmdPSNN changes the working directory while other
	// scripts start.
	dir, err := filepath.Abs(filepath.Join("testdata", "script"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           dir,
		UpdateScripts: *update,
		// $PSNN is this test binary, which runs privatesnn when
		// runMainEnv is set: "exec $PSNN ... &" runs commands in parallel
		// processes.
		Setup: func(env *testscript.Env) error {
			env.Setenv("PSNN", os.Args[0])
			env.Setenv(runMainEnv, "1")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"psnn":   cmdPSNN,
			"status": cmdStatus,
		},
	})
}

// inProcess serialises in-process runs: run changes the working directory
// and process-wide settings (threads).
var inProcess sync.Mutex

func cmdPSNN(ts *testscript.TestScript, neg bool, args []string) {
	inProcess.Lock()
	defer inProcess.Unlock()
	wd, err := os.Getwd()
	ts.Check(err)
	ts.Check(os.Chdir(ts.MkAbs(".")))
	defer os.Chdir(wd)
	var out bytes.Buffer
	errb := interrupter{cancel: func() {}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if on := ts.Getenv("INTERRUPT_ON"); on != "" {
		var err error
		errb.on, err = regexp.Compile(on)
		ts.Check(err)
		errb.cancel = cancel
	}
	if n, err := strconv.Atoi(ts.Getenv("STOP_AFTER")); err == nil && n > 0 {
		steps := 0
		testHookStep = func() {
			if steps++; steps == n {
				cancel()
			}
		}
		defer func() { testHookStep = nil }()
	}
	code := run(ctx, args, &out, &errb)
	work := ts.Getenv("WORK")
	mask := maskDecimals
	if ts.Getenv("EXACT") != "" {
		mask = maskNone
	} else if ts.Getenv("MASKALL") != "" {
		mask = maskAll
	}
	ts.Stdout().Write([]byte(normalise(out.String(), work, mask)))
	ts.Stderr().Write([]byte(normalise(errb.String(), work, mask)))
	ts.Setenv("STATUS", strconv.Itoa(code))
	switch {
	case neg && code == 0:
		ts.Fatalf("psnn %s: succeeded, want failure", strings.Join(args, " "))
	case !neg && code != 0:
		ts.Fatalf("psnn %s: exit %d:\n%s", strings.Join(args, " "), code, errb.String())
	}
}

// interrupter is the stderr of an in-process command. With a pattern
// (a script's "env INTERRUPT_ON=regexp") it cancels the command's context
// when its stderr first matches, as Ctrl-C would: "env
// INTERRUPT_ON='stage encrypt\n'" interrupts a run as its encrypt stage
// starts.
type interrupter struct {
	bytes.Buffer
	on     *regexp.Regexp
	cancel func()
}

func (w *interrupter) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if w.on != nil && w.on.Match(w.Bytes()) {
		w.on = nil
		w.cancel()
	}
	return n, err
}

// cmdStatus checks the exit status of the last psnn command.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: status N")
	}
	if got := ts.Getenv("STATUS"); (got == args[0]) == neg {
		ts.Fatalf("exit status %s, want %s%s", got, map[bool]string{true: "not ", false: ""}[neg], args[0])
	}
}

var (
	reDuration = regexp.MustCompile(`\b\d+(\.\d+)?(h\d+m)?(m\d+(\.\d+)?)?(s|ms|µs)\b`)
	reRate     = regexp.MustCompile(`\b\d+(\.\d+)? img/s\b|\b\d+(\.\d+)?s/img\b|\d+(\.\d+)?s/image\b`)
	reDecimal  = regexp.MustCompile(`[-+]?\b\d+\.\d+(e[-+]?\d+)?\b`)
)

// Masks of numbers: a script's "env EXACT=1" keeps them, "env MASKALL=1"
// masks integers too (counts that follow from floating-point results) and
// collapses runs of spaces.
const (
	maskDecimals = iota
	maskNone
	maskAll
)

var (
	reInteger = regexp.MustCompile(`\d+`)
	reSpaces  = regexp.MustCompile(` {2,}`)
)

// normalise masks what differs between runs, machines and BLAS kernels.
func normalise(s, work string, mask int) string {
	if work != "" {
		s = strings.ReplaceAll(s, work, "$WORK")
	}
	info := gemm.CurrentInfo()
	if b := strings.TrimSpace(info.Backend + " " + info.Core); b != "" {
		s = strings.ReplaceAll(s, b, "<backend>")
	}
	s = reRate.ReplaceAllString(s, "<rate>")
	s = reDuration.ReplaceAllString(s, "<dur>")
	switch mask {
	case maskNone:
		return s
	case maskAll:
		// Column padding depends on the masked widths: collapse it.
		s = reInteger.ReplaceAllString(reDecimal.ReplaceAllString(s, "<num>"), "<n>")
		return reSpaces.ReplaceAllString(s, " ")
	}
	return reDecimal.ReplaceAllString(s, "<num>")
}
