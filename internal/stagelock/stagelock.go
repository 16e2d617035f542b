package stagelock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// ErrHeld is returned, wrapped with the holder, by TryAcquire when another
// process, or this process through another Lock, holds the lock.
var ErrHeld = errors.New("stagelock: lock held")

var errUnsupported = fmt.Errorf("stagelock: not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// maxHolderBytes caps how much of a lock file is read as the holder record.
const maxHolderBytes = 4 << 10

// defaultPoll is Acquire's poll interval when the caller passes poll <= 0.
const defaultPoll = 500 * time.Millisecond

// Holder is who holds (or last held) a lock, as recorded in the lock file.
type Holder struct {
	Host  string    `json:"host"`
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
}

func (h Holder) String() string {
	host := h.Host
	if host == "" {
		host = "unknown host"
	}
	if h.Since.IsZero() {
		return fmt.Sprintf("%s pid %d", host, h.PID)
	}
	return fmt.Sprintf("%s pid %d since %s", host, h.PID, h.Since.Format(time.RFC3339))
}

// Lock is a held lock; Release releases it.
type Lock struct {
	key    string
	f      *os.File
	holder Holder
}

// entry is the registry's state for one lock path.
type entry struct {
	mu   sync.Mutex // serializes this process's file operations on the path
	lock *Lock      // this process's Lock on the path, or nil; guarded by mu
	refs int        // goroutines between enter and leave; guarded by registry
}

var registry = struct {
	sync.Mutex
	m map[string]*entry
}{m: map[string]*entry{}}

// enter returns the path's entry with its mu held.
func enter(key string) *entry {
	registry.Lock()
	e := registry.m[key]
	if e == nil {
		e = &entry{}
		registry.m[key] = e
	}
	e.refs++
	registry.Unlock()
	e.mu.Lock()
	return e
}

// leave releases e.mu and drops the entry once unused and unlocked.
func leave(key string, e *entry) {
	e.mu.Unlock()
	registry.Lock()
	e.refs--
	// refs == 0 means no goroutine can be touching e.lock.
	if e.refs == 0 && e.lock == nil {
		delete(registry.m, key)
	}
	registry.Unlock()
}

// registryKey is the cleaned absolute path with the parent directory's
// symlinks resolved when that succeeds.
func registryKey(path string) (string, error) {
	if path == "" {
		return "", errors.New("stagelock: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("stagelock: %w", err)
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(dir, filepath.Base(abs))
	}
	return abs, nil
}

var hostname = sync.OnceValue(func() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
})

func heldError(path string, h Holder) error {
	return fmt.Errorf("%w: %s by %s", ErrHeld, path, h)
}

// TryAcquire takes the lock on the file at path without waiting, creating
// the file if needed. It fails with an error wrapping ErrHeld when the lock
// is held by another process or by this process.
func TryAcquire(path string) (*Lock, error) {
	if !supported {
		return nil, errUnsupported
	}
	key, err := registryKey(path)
	if err != nil {
		return nil, err
	}
	e := enter(key)
	defer leave(key, e)
	if e.lock != nil {
		return nil, heldError(path, e.lock.holder)
	}
	f, err := os.OpenFile(key, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("stagelock: %w", err)
	}
	ok, err := tryLock(f)
	if err != nil || !ok {
		var h Holder
		if err == nil {
			h, _, _ = inspect(f) // best effort
		}
		f.Close() // this process holds no lock on the file
		if err != nil {
			return nil, fmt.Errorf("stagelock: lock %s: %w", path, err)
		}
		return nil, heldError(path, h)
	}
	h := Holder{Host: hostname(), PID: os.Getpid(), Since: time.Now().UTC().Round(0)}
	if err := writeHolder(f, h); err != nil {
		f.Close() // releases the lock
		return nil, fmt.Errorf("stagelock: record holder in %s: %w", path, err)
	}
	l := &Lock{key: key, f: f, holder: h}
	e.lock = l
	return l, nil
}

// Acquire calls TryAcquire every poll interval (500ms if poll <= 0) until
// it succeeds, it fails other than with ErrHeld, or ctx is done. On ctx done
// the error wraps both ctx.Err() and the last ErrHeld error.
func Acquire(ctx context.Context, path string, poll time.Duration) (*Lock, error) {
	if poll <= 0 {
		poll = defaultPoll
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("stagelock: acquire %s: %w", path, err)
	}
	t := time.NewTimer(poll)
	defer t.Stop()
	for {
		l, err := TryAcquire(path)
		if err == nil || !errors.Is(err, ErrHeld) {
			return l, err
		}
		t.Reset(poll)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stagelock: acquire %s: %w (%w)", path, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// Query reports who holds the lock on the file at path without taking it.
// held is false for a missing file; for an unlocked file h is the last
// recorded holder, if any.
func Query(path string) (h Holder, held bool, err error) {
	if !supported {
		return Holder{}, false, errUnsupported
	}
	key, err := registryKey(path)
	if err != nil {
		return Holder{}, false, err
	}
	e := enter(key)
	defer leave(key, e)
	if e.lock != nil {
		return e.lock.holder, true, nil
	}
	// Opening and closing is safe: this process holds no lock on key, and
	// e.mu keeps other goroutines from taking one meanwhile.
	f, err := os.Open(key)
	if errors.Is(err, os.ErrNotExist) {
		return Holder{}, false, nil
	}
	if err != nil {
		return Holder{}, false, fmt.Errorf("stagelock: %w", err)
	}
	defer f.Close()
	h, held, err = inspect(f)
	if err != nil {
		return Holder{}, false, fmt.Errorf("stagelock: query %s: %w", path, err)
	}
	return h, held, nil
}

// inspect reports whether another process locks f's file and who: the
// recorded holder, or the kernel's pid when the record is missing,
// unreadable, or names this host with another pid.
func inspect(f *os.File) (Holder, bool, error) {
	held, pid, err := testLock(f)
	if err != nil {
		return Holder{}, false, err
	}
	rec, recErr := readHolder(f)
	if held && (recErr != nil || (pid > 0 && rec.Host == hostname() && rec.PID != pid)) {
		rec = Holder{PID: pid}
		if pid > 0 {
			rec.Host = hostname()
		}
	}
	return rec, held, nil
}

// Release releases the lock. Calling it again is a no-op returning nil.
func (l *Lock) Release() error {
	e := enter(l.key)
	defer leave(l.key, e)
	if e.lock != l {
		return nil
	}
	e.lock = nil
	uerr := unlock(l.f)
	cerr := l.f.Close()
	if err := errors.Join(uerr, cerr); err != nil {
		return fmt.Errorf("stagelock: release %s: %w", l.key, err)
	}
	return nil
}

func writeHolder(f *os.File, h Holder) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Sync()
}

// readHolder parses the record at the start of f without moving its offset.
func readHolder(f *os.File) (Holder, error) {
	return parseHolder(io.NewSectionReader(f, 0, maxHolderBytes+1))
}

// parseHolder parses a holder record, reading at most maxHolderBytes+1
// bytes from r. A record must be one JSON object with pid > 0.
func parseHolder(r io.Reader) (Holder, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxHolderBytes+1))
	if err != nil {
		return Holder{}, err
	}
	if len(b) > maxHolderBytes {
		return Holder{}, fmt.Errorf("stagelock: holder record over %d bytes", maxHolderBytes)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return Holder{}, errors.New("stagelock: no holder record")
	}
	var h Holder
	if err := json.Unmarshal(b, &h); err != nil {
		return Holder{}, fmt.Errorf("stagelock: holder record: %w", err)
	}
	if h.PID <= 0 {
		return Holder{}, fmt.Errorf("stagelock: holder record: pid %d", h.PID)
	}
	return h, nil
}
