package stagelock

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	helperModeEnv = "STAGELOCK_HELPER_MODE" // "hold" or "probe"
	helperPathEnv = "STAGELOCK_HELPER_PATH"
)

func lockPath(t *testing.T) string {
	t.Helper()
	if !supported {
		t.Skip(errUnsupported)
	}
	return filepath.Join(t.TempDir(), "stage.lock")
}

func mustAcquire(t *testing.T, path string) *Lock {
	t.Helper()
	l, err := TryAcquire(path)
	if err != nil {
		t.Fatalf("TryAcquire: %v", err)
	}
	t.Cleanup(func() { l.Release() })
	return l
}

func TestSameProcess(t *testing.T) {
	path := lockPath(t)
	if h, held, err := Query(path); err != nil || held || h != (Holder{}) {
		t.Fatalf("Query(missing) = %v, %v, %v; want zero, false, nil", h, held, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Query created the file: %v", err)
	}

	l := mustAcquire(t, path)
	if _, err := TryAcquire(path); !errors.Is(err, ErrHeld) {
		t.Fatalf("second TryAcquire: err = %v, want ErrHeld", err)
	}
	// Another spelling of the same path maps to the same registry entry.
	rel, err := filepath.Rel(mustGetwd(t), path)
	if err == nil {
		if _, err := TryAcquire(filepath.Join(filepath.Dir(rel), ".", filepath.Base(rel))); !errors.Is(err, ErrHeld) {
			t.Fatalf("TryAcquire(relative path): err = %v, want ErrHeld", err)
		}
	}
	h, held, err := Query(path)
	if err != nil || !held || h.PID != os.Getpid() {
		t.Fatalf("Query = %+v, %v, %v; want held by pid %d", h, held, err, os.Getpid())
	}
	host, _ := os.Hostname()
	if h.Host != host || h.Since.IsZero() {
		t.Fatalf("Query holder = %+v; want host %q and a time", h, host)
	}
	rec, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := parseHolder(bytes.NewReader(rec)); err != nil || got.PID != h.PID || got.Host != h.Host || !got.Since.Equal(h.Since) {
		t.Fatalf("recorded holder = %+v, %v; want %+v", got, err, h)
	}

	if err := l.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if h2, held, err := Query(path); err != nil || held || h2.PID != os.Getpid() {
		t.Fatalf("Query after Release = %+v, %v, %v; want last holder, not held", h2, held, err)
	}
	l2 := mustAcquire(t, path)
	if err := l.Release(); err != nil { // stale Lock must not release l2
		t.Fatalf("Release of old Lock: %v", err)
	}
	if _, err := TryAcquire(path); !errors.Is(err, ErrHeld) {
		t.Fatalf("TryAcquire after stale Release: err = %v, want ErrHeld", err)
	}
	if err := l2.Release(); err != nil {
		t.Fatal(err)
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestAcquireTimeout(t *testing.T) {
	path := lockPath(t)
	mustAcquire(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	l, err := Acquire(ctx, path, 10*time.Millisecond)
	if l != nil || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrHeld) {
		t.Fatalf("Acquire = %v, %v; want DeadlineExceeded and ErrHeld", l, err)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("Acquire returned after %v, before the deadline", d)
	}
}

func TestAcquireWaits(t *testing.T) {
	path := lockPath(t)
	l := mustAcquire(t, path)
	time.AfterFunc(50*time.Millisecond, func() { l.Release() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l2, err := Acquire(ctx, path, 5*time.Millisecond)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	l2.Release()
}

func TestConcurrentTryAcquire(t *testing.T) {
	path := lockPath(t)
	const n = 8
	for round := 0; round < 50; round++ {
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			locks = make([]*Lock, n)
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				locks[i], errs[i] = TryAcquire(path)
			})
		}
		// Queries race with the acquirers; they must not drop the lock.
		wg.Go(func() {
			<-start
			Query(path)
		})
		close(start)
		wg.Wait()
		var won *Lock
		for i := range n {
			switch {
			case errs[i] == nil && won == nil:
				won = locks[i]
			case errs[i] == nil:
				t.Fatalf("round %d: two TryAcquire calls succeeded", round)
			case !errors.Is(errs[i], ErrHeld):
				t.Fatalf("round %d: TryAcquire: %v", round, errs[i])
			}
		}
		if won == nil {
			t.Fatalf("round %d: no TryAcquire succeeded", round)
		}
		if err := won.Release(); err != nil {
			t.Fatal(err)
		}
	}
	registry.Lock()
	left := len(registry.m)
	registry.Unlock()
	if left != 0 {
		t.Fatalf("registry holds %d entries after all releases", left)
	}
}

// TestHelperProcess is the child process of the cross-process tests.
// Mode "hold" takes the lock, prints "locked" and waits for stdin to close.
// Mode "probe" prints the results of Query and then TryAcquire.
func TestHelperProcess(t *testing.T) {
	mode, path := os.Getenv(helperModeEnv), os.Getenv(helperPathEnv)
	if mode == "" {
		return
	}
	switch mode {
	case "hold":
		l, err := TryAcquire(path)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		go func() { time.Sleep(time.Minute); os.Exit(3) }()
		var b [1]byte
		os.Stdin.Read(b[:]) // returns when the parent goes away
		l.Release()
	case "probe":
		h, held, qerr := Query(path)
		_, err := TryAcquire(path)
		fmt.Printf("%t %v %d %v %v\n", errors.Is(err, ErrHeld), held, h.PID, err, qerr)
	}
	os.Exit(0)
}

func helper(t *testing.T, mode, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperModeEnv+"="+mode, helperPathEnv+"="+path)
	if _, ok := os.LookupEnv("GORACE"); !ok {
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0") // no 1s exit delay under -race
	}
	cmd.Stderr = os.Stderr
	return cmd
}

func TestCrossProcessHolder(t *testing.T) {
	path := lockPath(t)
	cmd := helper(t, "hold", path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		if s != "locked" {
			t.Fatalf("child said %q, want \"locked\"", s)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child did not take the lock")
	}
	child := cmd.Process.Pid

	_, err = TryAcquire(path)
	if !errors.Is(err, ErrHeld) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(child)) {
		t.Fatalf("TryAcquire while child holds: err = %v; want ErrHeld naming pid %d", err, child)
	}
	h, held, err := Query(path)
	if err != nil || !held || h.PID != child {
		t.Fatalf("Query = %+v, %v, %v; want held by child pid %d", h, held, err, child)
	}

	// Stale-lock recovery: the kernel drops a killed holder's lock.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	l, err := Acquire(ctx, path, 10*time.Millisecond)
	if err != nil {
		t.Fatalf("Acquire after SIGKILL of holder: %v", err)
	}
	t.Logf("acquired %v after SIGKILL", time.Since(start))
	defer l.Release()
	if h, held, err := Query(path); err != nil || !held || h.PID != os.Getpid() {
		t.Fatalf("Query after recovery = %+v, %v, %v; want held by pid %d", h, held, err, os.Getpid())
	}
}

// TestCrossProcessKeepsLock checks that this process's Query, failed
// TryAcquire and stale Release do not drop the lock it holds (closing any
// descriptor of a file drops the process's record locks on it).
func TestCrossProcessKeepsLock(t *testing.T) {
	path := lockPath(t)
	l := mustAcquire(t, path)
	Query(path)
	TryAcquire(path)
	(&Lock{key: l.key}).Release()
	out, err := helper(t, "probe", path).Output()
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	want := fmt.Sprintf("true true %d ", os.Getpid())
	if !strings.HasPrefix(string(out), want) {
		t.Fatalf("probe said %q, want prefix %q", out, want)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	out, err = helper(t, "probe", path).Output()
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	if !strings.HasPrefix(string(out), "false false ") {
		t.Fatalf("probe after Release said %q, want the lock free", out)
	}
}

func TestParseHolder(t *testing.T) {
	since := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	good := `{"host":"n1","pid":42,"since":"2025-01-02T03:04:05.000000006Z"}` + "\n"
	h, err := parseHolder(strings.NewReader(good))
	if err != nil || h.Host != "n1" || h.PID != 42 || !h.Since.Equal(since) {
		t.Fatalf("parseHolder(good) = %+v, %v", h, err)
	}
	for _, bad := range []string{
		"", "  \n", "{", "null", `{"pid":0}`, `{"pid":-1}`, `{"pid":"1"}`, `[]`,
		good + good,
		`{"host":"` + strings.Repeat("x", maxHolderBytes) + `","pid":1}`,
	} {
		if h, err := parseHolder(strings.NewReader(bad)); err == nil {
			t.Errorf("parseHolder(%.40q) = %+v, want error", bad, h)
		}
	}
}

func FuzzHolder(f *testing.F) {
	f.Add([]byte(`{"host":"n1","pid":42,"since":"2025-01-02T03:04:05Z"}`))
	f.Add([]byte(`{"host":"","pid":1,"since":"0001-01-01T00:00:00Z"}` + "\n"))
	f.Add([]byte(`{"pid":7}`))
	f.Add([]byte(`{"host":"a\u00e9","pid":1e3,"since":"2025-01-02T03:04:05+05:30"}`))
	f.Add([]byte("\x00\xff{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &countingReader{r: bytes.NewReader(data)}
		h, err := parseHolder(r)
		if r.n > maxHolderBytes+1 {
			t.Fatalf("read %d bytes, cap is %d", r.n, maxHolderBytes+1)
		}
		if err != nil {
			return
		}
		if h.PID <= 0 || len(data) > maxHolderBytes {
			t.Fatalf("accepted %+v from %d bytes", h, len(data))
		}
		// A parsed record written back parses to the same holder.
		b, err := json.Marshal(h)
		if err != nil {
			return // e.g. a time json cannot marshal
		}
		h2, err := parseHolder(bytes.NewReader(b))
		if err != nil || h2.Host != h.Host || h2.PID != h.PID || !h2.Since.Equal(h.Since) {
			t.Fatalf("round trip: %+v -> %+v, %v", h, h2, err)
		}
	})
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
