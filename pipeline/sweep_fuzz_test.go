package pipeline

import (
	"io"
	"strings"
	"testing"
)

// FuzzParseSweep: no configuration text panics, and every one accepted
// expands into at most MaxPoints valid points, one value per axis each.
func FuzzParseSweep(f *testing.F) {
	f.Add([]byte(sweepText), true)
	f.Add([]byte("name = \"t\"\nseed = [1, 2]\n[encrypt]\nsamples = [[1], [2, 3]]\n"), true)
	f.Add([]byte(`{"name": "t", "encrypt": {"per_class": [1, 2]}, "skip": ["audit"]}`), false)
	f.Add([]byte("name = \"t\"\n[ann]\nepochs = [1, \"x\"]\n"), true)
	f.Fuzz(func(t *testing.T, b []byte, isTOML bool) {
		if strings.Contains(string(b), "import") {
			return // an import path would make the fuzzer read files
		}
		s, err := ParseSweep(b, isTOML)
		if err != nil {
			return
		}
		if len(s.Points) == 0 || len(s.Points) > MaxPoints {
			t.Fatalf("%d points", len(s.Points))
		}
		for _, p := range s.Points {
			if len(p.Values) != len(s.Axes) {
				t.Fatalf("point %d: %d values for %d axes", p.Index, len(p.Values), len(s.Axes))
			}
			if err := p.Config.Validate(); err != nil {
				t.Fatalf("point %d does not validate: %v", p.Index, err)
			}
		}
		s.SetWorkdir(t.TempDir())
		if err := WriteSweepPlan(io.Discard, s, false); err != nil {
			t.Fatalf("plan: %v", err)
		}
	})
}
