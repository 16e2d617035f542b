package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The report records the time the run started, not the time it was
// written.
func TestReportStarted(t *testing.T) {
	dir := t.TempDir()
	started := time.Date(2025, 6, 7, 8, 9, 10, 0, time.FixedZone("CEST", 2*3600))
	if err := WriteReport(dir, Defaults(), "name = \"run\"\n", "privatesnn run x.toml", started, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "| started (UTC) | 2025-06-07T06:09:10Z |") {
		t.Errorf("report.md does not record the start:\n%s", b)
	}
}
