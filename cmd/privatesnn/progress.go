package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/stage"
)

// display draws a live bar on a terminal, and plain lines otherwise
// (at most one every plainEvery, plus every completed unit).
type display struct {
	w        io.Writer
	tty      bool
	quiet    bool
	last     time.Time
	lastLen  int
	interval time.Duration
}

const plainEvery = 30 * time.Second

func newProgress(w io.Writer, quiet bool) *display {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return newProgressMode(w, quiet, tty)
}

// newProgressMode is newProgress with the terminal test made by the caller.
func newProgressMode(w io.Writer, quiet, tty bool) *display {
	iv := plainEvery
	if tty {
		iv = 100 * time.Millisecond
	}
	return &display{w: w, tty: tty, quiet: quiet, interval: iv}
}

// reporter returns the one adapter from the libraries' progress reports
// to the display: an event, and a finished unit whose Detail the command
// words (an epoch, a layer's threshold, a scored candidate), are permanent
// lines (prefixed by the stage, if any); any other report moves the live
// bar, whose time to go is estimated from the reports of the same name.
// It never stops a run.
func (p *display) reporter() progress.Func {
	var name string
	start, last := time.Now(), time.Now()
	return func(r progress.Report) error {
		if testHookStep != nil && r.Detail == nil && !r.Event() {
			testHookStep()
		}
		now := time.Now()
		defer func() { last = now }()
		if text, ok := reportLine(r); ok {
			if r.Stage != "" && !(r.Event() && r.Label == "") {
				text = "  " + r.Stage + ": " + text
			}
			p.line("%s", text)
			return nil
		}
		if n := r.Name(); n != name {
			name, start = n, last
		}
		p.update(r.Name(), r.Done, r.Total, now.Sub(start), stage.ValuesText(r.Values))
		return nil
	}
}

// testHookStep, when set by a test, runs after every report of a
// training step.
var testHookStep func()

// reportLine returns the permanent line of an event or of a report whose
// Detail is a finished unit or a stage's start (stage.UnitLine), and false
// for a report that moves the bar.
func reportLine(r progress.Report) (string, bool) {
	if text, ok := stage.UnitLine(r); ok {
		return text, true
	}
	switch {
	case !r.Event():
		return "", false
	case r.Label == "":
		return "stage " + r.Stage, true // a pipeline stage starts
	}
	return r.Label, true
}

// update shows done/total of the current unit with a label and an ETA.
func (p *display) update(label string, done, total int, elapsed time.Duration, extra string) {
	if p.quiet || time.Since(p.last) < p.interval {
		return
	}
	p.last = time.Now()
	eta := "?"
	if done > 0 {
		eta = (time.Duration(float64(elapsed) * float64(total-done) / float64(done))).Round(time.Second).String()
	}
	if extra != "" {
		extra += " "
	}
	if !p.tty {
		fmt.Fprintf(p.w, "%s %d/%d %seta %s\n", label, done, total, extra, eta)
		return
	}
	const width = 30
	fill := width * done / max(total, 1)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	line := fmt.Sprintf("\r%s [%s] %d/%d %seta %s", label, bar, done, total, extra, eta)
	pad := max(0, p.lastLen-len(line))
	p.lastLen = len(line)
	fmt.Fprint(p.w, line+strings.Repeat(" ", pad))
}

// clear erases a live bar, so that the next output, on stderr or on
// stdout when both are the terminal, starts on a clean line.
func (p *display) clear() {
	if p.tty && p.lastLen > 0 {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.lastLen)+"\r")
		p.lastLen = 0
	}
}

// line prints a permanent line (ending any live bar first).
func (p *display) line(format string, args ...any) {
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
