package stage

import (
	"fmt"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/energy"
	"github.com/privatesnn/privatesnn/snn"
)

// TestRateNames: energy's per-layer rate (the feeding layer's spike rate,
// before pooling) and eval's input rate (non-zero inputs after pooling)
// are different measures and carry different names.
func TestRateNames(t *testing.T) {
	rep := energy.Report{Costs: energy.Horowitz45nm(), Timesteps: 4, Layers: []energy.Layer{{Name: "features.0.weight", MACs: 10, InputRate: 0.5}}}
	var e strings.Builder
	if err := (&EnergyResult{Model: "m", Data: "d", Timesteps: 4, Reports: []energy.Report{rep}}).WriteText(&e); err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(strings.SplitN(e.String(), "\n", 4)[2], "\n")
	if !strings.Contains(header, "pre-pool rate") || strings.Contains(header, "input rate") || strings.Contains(header, "in rate") {
		t.Errorf("energy's layer header %q: want its rate named \"pre-pool rate\"", header)
	}
	var v strings.Builder
	(&EvalResult{Kind: "snn", SpikeRates: []LayerRate{{Layer: "features.0.weight", Rate: 0.1, InputRate: 0.2}}}).WriteText(&v)
	if !strings.Contains(v.String(), "input rate 0.2000") || strings.Contains(v.String(), "pre-pool") {
		t.Errorf("eval's text:\n%s\nwant the post-pool rate named \"input rate\"", v.String())
	}
}

// TestReadouts: "auto" is nil and prints back; a list of steps round-trips;
// an entry that is not a step in [1, snn.MaxTimesteps] is refused.
func TestReadouts(t *testing.T) {
	var r Readouts
	if err := r.Set("4, 8,16"); err != nil || r.String() != "4,8,16" {
		t.Errorf("Set 4,8,16: %v, %v", r, err)
	}
	if err := r.Set("auto"); err != nil || r != nil || r.String() != "auto" {
		t.Errorf("Set auto: %v, %v", r, err)
	}
	for _, bad := range []string{"0", "x", "4,,8", fmt.Sprint(snn.MaxTimesteps + 1)} {
		if err := r.Set(bad); err == nil || !strings.Contains(err.Error(), "is not a time step") {
			t.Errorf("Set %q: %v", bad, err)
		}
	}
}
