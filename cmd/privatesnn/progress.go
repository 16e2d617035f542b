package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress draws a live bar on a terminal, and plain lines otherwise
// (at most one every plainEvery, plus every completed unit).
type progress struct {
	w        io.Writer
	tty      bool
	quiet    bool
	last     time.Time
	lastLen  int
	interval time.Duration
}

const plainEvery = 30 * time.Second

func newProgress(w io.Writer, quiet bool) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return newProgressMode(w, quiet, tty)
}

// newProgressMode is newProgress with the terminal test made by the caller.
func newProgressMode(w io.Writer, quiet, tty bool) *progress {
	iv := plainEvery
	if tty {
		iv = 100 * time.Millisecond
	}
	return &progress{w: w, tty: tty, quiet: quiet, interval: iv}
}

// update shows done/total of the current unit with a label and an ETA.
func (p *progress) update(label string, done, total int, elapsed time.Duration, extra string) {
	if p.quiet || time.Since(p.last) < p.interval {
		return
	}
	p.last = time.Now()
	eta := "?"
	if done > 0 {
		eta = (time.Duration(float64(elapsed) * float64(total-done) / float64(done))).Round(time.Second).String()
	}
	if !p.tty {
		fmt.Fprintf(p.w, "%s %d/%d %s eta %s\n", label, done, total, extra, eta)
		return
	}
	const width = 30
	fill := width * done / max(total, 1)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	line := fmt.Sprintf("\r%s [%s] %d/%d %s eta %s", label, bar, done, total, extra, eta)
	pad := max(0, p.lastLen-len(line))
	p.lastLen = len(line)
	fmt.Fprint(p.w, line+strings.Repeat(" ", pad))
}

// clear erases a live bar, so that the next output, on stderr or on
// stdout when both are the terminal, starts on a clean line.
func (p *progress) clear() {
	if p.tty && p.lastLen > 0 {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.lastLen)+"\r")
		p.lastLen = 0
	}
}

// line prints a permanent line (ending any live bar first).
func (p *progress) line(format string, args ...any) {
	if p.quiet {
		return
	}
	p.clear()
	fmt.Fprintf(p.w, format+"\n", args...)
	p.last = time.Time{}
	if !p.tty {
		p.last = time.Now()
	}
}
