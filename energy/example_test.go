package energy_test

import (
	"fmt"

	"github.com/privatesnn/privatesnn/energy"
	"github.com/privatesnn/privatesnn/vgg"
)

// Two layers: 1 M MACs fed at 10 % input spikes per step, 0.5 M at 5 %.
func ExampleCompute() {
	macs := []vgg.LayerMACs{{Name: "conv", MACs: 1000000}, {Name: "fc", MACs: 500000}}
	r := energy.Compute(macs, []float64{0.10, 0.05}, 100, energy.Horowitz45nm())
	fmt.Printf("ANN %.1f µJ, SNN %.4f µJ per step-rate (%.0f×), %.2f µJ over the window (%.2f×)\n",
		r.ANNpJ/1e6, r.SNNStepPJ/1e6, r.RatioStep, r.SNNWinPJ/1e6, r.RatioWin)
	// Output:
	// ANN 6.9 µJ, SNN 0.1125 µJ per step-rate (61×), 11.25 µJ over the window (0.61×)
}
