package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The plan's text names each stage's dependencies and what it reads.
func TestWritePlan(t *testing.T) {
	c := Defaults()
	c.Workdir = t.TempDir()
	var b strings.Builder
	if err := WritePlan(&b, c, false); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"\n    needs no stage; reads real data: the training split (training) and the test split (scoring)\n",
		"\nsynth                  to run                 " + filepath.Join(c.Workdir, "synth-"),
		"\n    needs ann; reads no real data (the ANN's weights only)\n",
		"\n    needs ann, synth, convert; reads no real data (the converted SNN, its ANN (teacher) and the synthetic images)\n",
		"\n    needs convert, encrypt, encrypt-cet; reads real data: the test split (spike rates)\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan text lacks %q:\n%s", want, text)
		}
	}
	b.Reset()
	if err := WritePlan(&b, c, true); err != nil || !strings.Contains(b.String(), `"reads_real_data": false`) {
		t.Errorf("JSON plan (%v):\n%s", err, b.String())
	}
}

// A stage name longer than the 22-character column widens it: every
// state starts at the same column.
func TestWritePlanAligned(t *testing.T) {
	c := Defaults()
	c.Workdir = t.TempDir()
	c.Compare = []CompareConfig{{Name: "a rather long comparison name", Settings: c.Convert.Settings}}
	var b strings.Builder
	if err := WritePlan(&b, c, false); err != nil {
		t.Fatal(err)
	}
	col := -1
	for _, line := range strings.Split(b.String(), "\n") {
		if line == "" || strings.HasPrefix(line, " ") {
			continue
		}
		i := strings.Index(line, " to run")
		if i < 0 {
			t.Fatalf("line %q has no state", line)
		}
		if col >= 0 && i != col {
			t.Fatalf("state at column %d, %d before it:\n%s", i, col, b.String())
		}
		col = i
	}
	if want := len("eval-compare-a-rather-long-comparison-name"); col != want {
		t.Errorf("state at column %d, want %d", col, want)
	}
}

// The report records the time the run started, not the time it was
// written, and the run's software (DefaultSoftware when none is set).
func TestReportStarted(t *testing.T) {
	started := time.Date(2025, 6, 7, 8, 9, 10, 0, time.FixedZone("CEST", 2*3600))
	for _, sw := range []string{"", "privatesnn 9.9.9"} {
		dir := t.TempDir()
		c := Defaults()
		c.Software = sw
		if err := WriteReport(dir, c, "name = \"run\"\n", "privatesnn run x.toml", started, nil); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "report.md"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "| started (UTC) | 2025-06-07T06:09:10Z |") {
			t.Errorf("report.md does not record the start:\n%s", b)
		}
		want := sw
		if want == "" {
			want = DefaultSoftware
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("report.md does not name the software %q:\n%s", want, b)
		}
	}
}
