package pipeline

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/optim"
)

// TestShippedSchedules lists the shipped configurations whose learning
// rate schedules changed when milestones stopped coinciding
// (optim.StepSchedule.Milestones): only the demo's 4-epoch class-encryption
// stages (encrypt and encrypt-cet, fractions 0.5 and 0.7, which divided
// twice at epoch 3). Every other schedule keeps its milestones at
// max(1, ⌊f·E⌋), so its weights stay the same bit for bit.
func TestShippedSchedules(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "configs", "*.toml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("configs: %v %v", paths, err)
	}
	// Configurations shipped after the change had no earlier weights to
	// keep.
	newer := map[string]bool{"compare-demo.toml": true}
	var changed []string
	for _, p := range paths {
		if newer[filepath.Base(p)] {
			continue
		}
		sw, err := LoadSweep(p)
		if err != nil {
			t.Fatal(err)
		}
		c := sw.Points[0].Config // no shipped sweep sweeps a schedule
		e := c.Encrypt.Options
		for name, s := range map[string]optim.StepSchedule{
			"ann":       {Base: c.ANN.LR, Factor: c.ANN.LRFactor, Fractions: c.ANN.LRFractions, Epochs: c.ANN.Epochs},
			"encrypt":   {Base: e.LR, Factor: e.LRFactor, Fractions: e.LRFractions, Epochs: e.Epochs},
			"evaluator": {Base: c.Evaluator.LR, Factor: c.Evaluator.LRFactor, Fractions: c.Evaluator.LRFractions, Epochs: c.Evaluator.Epochs},
		} {
			var was []int
			for _, f := range s.Fractions {
				was = append(was, max(1, int(f*float64(s.Epochs))))
			}
			if !slices.Equal(was, s.Milestones()) {
				changed = append(changed, filepath.Base(p)+" "+name)
				t.Logf("%s %s: %d epochs, milestones %v, were %v", filepath.Base(p), name, s.Epochs, s.Milestones(), was)
			}
		}
	}
	slices.Sort(changed)
	if want := []string{"demo.toml encrypt"}; !slices.Equal(changed, want) {
		t.Errorf("schedules changed in %v, want %v", changed, want)
	}
}
