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

// With Direct input the first layer multiplies analog pixels: 1 M MACs at
// 4.6 pJ every step, then 0.5 M synapses fed at 10 % spikes per step.
func ExampleBuild() {
	r := energy.Build([]energy.Input{
		{MACs: vgg.LayerMACs{Name: "conv1", MACs: 1000000}, Rate: 0.98, Analog: true},
		{MACs: vgg.LayerMACs{Name: "fc", MACs: 500000}, Rate: 0.10},
	}, 10, energy.Horowitz45nm())
	fmt.Printf("per step %.3f µJ, window %.2f µJ, window with conv1 once per image %.3f µJ\n",
		r.SNNStepPJ/1e6, r.SNNWinPJ/1e6, r.SNNWinOncePJ/1e6)
	// Output:
	// per step 4.645 µJ, window 46.45 µJ, window with conv1 once per image 5.050 µJ
}
