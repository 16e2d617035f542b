package stage

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/setting"
)

// TestDeadLayer: a layer past the first that no spike reached at fewer
// steps than the paper's T is a timesteps error with the hint; the first
// layer, a long simulation and other errors stay as they are.
func TestDeadLayer(t *testing.T) {
	deep := fmt.Errorf("synthetic:s: %w", &convert.DeadLayerError{Layer: "features.9.weight", Index: 3, Images: 20})
	err := deadLayer(deep, 4, "synthetic:s", "(how)", "try this")
	s, ok := setting.As(err)
	if !ok || s.Key != "timesteps" || s.Value != "4" || !strings.HasPrefix(s.Reason, "features.9.weight receives no positive input current from 20 calibration images of synthetic:s") ||
		!strings.HasSuffix(s.Reason, "too few time steps for spikes to reach this deep layer (how); raise it, or try this") {
		t.Errorf("deep layer at T=4: got %v", err)
	}
	if got := deadLayer(deep, 4, "s", "(how)", ""); !strings.HasSuffix(got.Error(), "raise it") {
		t.Errorf("no other fix: got %v", got)
	}
	first := &convert.DeadLayerError{Layer: "features.0.weight", Images: 20}
	other := errors.New("other")
	for _, c := range []struct {
		err error
		T   int
	}{{first, 4}, {deep, convert.PaperTimesteps}, {other, 4}} {
		if got := deadLayer(c.err, c.T, "s", "(how)", "fix"); got != c.err {
			t.Errorf("deadLayer(%v, T=%d) = %v, want it unchanged", c.err, c.T, got)
		}
	}
}
