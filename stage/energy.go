package stage

import (
	"context"
	"fmt"
	"io"

	"github.com/privatesnn/privatesnn/energy"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
)

// EnergySettings are an energy estimate as a user states it.
type EnergySettings struct {
	// Timesteps simulates this many steps (0: the model's T).
	Timesteps int `json:"timesteps,omitempty"`
	// Readouts are the steps at which accuracy and energy are reported
	// against T (nil: EveryNth(T, 10)).
	Readouts []int `json:"readouts,omitempty"`
	// Seed seeds the Poisson input spikes.
	Seed uint64 `json:"seed"`
}

// EnergyJob measures a spiking model's operations on real data: the energy
// command's and the pipeline's energy estimate.
type EnergyJob struct {
	Model    *Model
	Data     *imageset.Set
	Settings EnergySettings
}

// EnergyAtT is the accuracy and energy of the run read out after T steps.
type EnergyAtT struct {
	T        int             `json:"t"`
	Accuracy float64         `json:"accuracy"`
	Reports  []energy.Report `json:"reports"`
}

// EnergyResult is a finished energy estimate: a report per cost table
// (EnergyCosts), over all steps and at every readout.
type EnergyResult struct {
	Model        string          `json:"model"`
	Data         string          `json:"data"`
	Images       int             `json:"images"`
	Timesteps    int             `json:"timesteps"`
	Encoder      snn.Encoder     `json:"encoder"`
	TestAccuracy float64         `json:"test_accuracy"`
	Reports      []energy.Report `json:"reports"`
	VersusT      []EnergyAtT     `json:"versus_t"`
}

// EnergyCosts are the cost tables an estimate reports, in order: 45 nm
// fp32 (Horowitz) first.
func EnergyCosts() []energy.Costs { return []energy.Costs{energy.Horowitz45nm(), energy.Rathi()} }

// Energy simulates the spiking model on the data (as Eval does, the same
// Poisson draws for the same seed), measures every layer's input spike
// rate and the operations the simulator performed, and prices the ANN's
// and the SNN's operations. p receives the simulation's reports.
func Energy(ctx context.Context, j EnergyJob, p progress.Func) (*EnergyResult, error) {
	if _, err := checkData(j.Data, RoleData, j.Model, p); err != nil {
		return nil, err
	}
	net, err := j.Model.Spiking(j.Settings.Timesteps)
	if err != nil {
		return nil, err
	}
	T := net.Config.Timesteps
	rs := j.Settings.Readouts
	if rs == nil {
		rs = EveryNth(T, 10)
	}
	r, curve, err := Simulate(ctx, net, j.Data, j.Model.Card.Normalization, rs, j.Settings.Seed, p)
	if err != nil {
		return nil, err
	}
	res := &EnergyResult{Model: j.Model.Path, Data: j.Data.Name, Images: j.Data.Len(), Timesteps: T, Encoder: net.Config.Encoder,
		TestAccuracy: curve[len(curve)-1].Accuracy}
	costs := EnergyCosts()
	for _, c := range costs {
		res.Reports = append(res.Reports, energy.FromRun(net.Model, r, c))
	}
	for i, t := range r.Readouts {
		at := EnergyAtT{T: t, Accuracy: curve[i].Accuracy}
		for _, c := range costs {
			at.Reports = append(at.Reports, energy.FromRun(net.Model, r.UpTo(i), c))
		}
		res.VersusT = append(res.VersusT, at)
	}
	return res, nil
}

// WriteText writes the estimate as the energy command prints it: the
// layers, each cost table's totals, the estimate against T and what the
// readings mean.
func (res *EnergyResult) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s at T=%d, %s input, on %s (%d images): accuracy %.2f%%\n\n", res.Model, res.Timesteps, res.Encoder, res.Data, res.Images, 100*res.TestAccuracy)
	rep := res.Reports[0]
	fmt.Fprintf(w, "%-22s %12s %13s %14s %14s\n", "layer", "MACs/image", "pre-pool rate", "ACs/step rule", "ops/step sim")
	for _, l := range rep.Layers {
		rate := fmt.Sprintf("%.4f", l.InputRate)
		if l.Analog {
			rate = "analog"
		}
		fmt.Fprintf(w, "%-22s %12d %13s %14.0f %14.0f\n", l.Name, l.MACs, rate, l.ACsStep, l.MeasuredStep)
	}
	fmt.Fprintf(w, "\n%-10s %10s %13s %13s %13s %9s %9s %9s\n", "costs", "ANN µJ", "SNN µJ step", "SNN µJ window", "SNN µJ sim", "ANN/SNN", "ANN/SNN", "ANN/SNN")
	fmt.Fprintf(w, "%-10s %10s %13s %13s %13s %9s %9s %9s\n", "", "", "(rule)", "(rule)", "(window)", "step", "window", "sim")
	for _, r := range res.Reports {
		fmt.Fprintf(w, "%-10s %10.3f %13.4f %13.3f %13.3f %8.1f× %8.2f× %8.2f×\n", r.Costs.Name, r.ANNpJ/1e6, r.SNNStepPJ/1e6, r.SNNWinPJ/1e6,
			r.SNNMeasuredWinPJ/1e6, r.RatioStep, r.RatioWin, r.RatioMeasuredWin)
	}
	if len(res.VersusT) > 1 {
		fmt.Fprintf(w, "\nagainst T (%s costs, window):\n%6s %9s %12s %12s %9s %9s\n", res.Reports[0].Costs.Name, "T", "accuracy", "SNN µJ rule", "SNN µJ sim", "ANN/SNN", "ANN/SNN")
		fmt.Fprintf(w, "%6s %9s %12s %12s %9s %9s\n", "", "", "", "", "rule", "sim")
		for _, e := range res.VersusT {
			r := e.Reports[0]
			fmt.Fprintf(w, "%6d %8.2f%% %12.3f %12.3f %8.2f× %8.2f×\n", e.T, 100*e.Accuracy, r.SNNWinPJ/1e6, r.SNNMeasuredWinPJ/1e6, r.RatioWin, r.RatioMeasuredWin)
		}
	}
	_, err := fmt.Fprint(w, `
Energy counts operations only: ANN = MACs × E_MAC; SNN = accumulates × E_AC, plus MACs × E_MAC
for a layer fed the analog image (direct input; counted at every step).
  45nm-fp32: E_MAC 4.6 pJ, E_AC 0.9 pJ (32-bit floating point in 45 nm CMOS, Horowitz 2014).
  3.1/0.1:   E_MAC 3.1 pJ, E_AC 0.1 pJ (the integer costs used by earlier SNN energy scripts).
'pre-pool rate' is the spike rate of the layer feeding a layer (spikes per neuron per step, before
any pooling; for the first layer, the input's); eval's 'input rate' counts non-zero inputs after
pooling. 'rule' counts MACs × pre-pool rate; 'step' is one time step's accumulates, 'window' all
T steps' (the PrivateSNN paper does not say which it used). 'sim' counts the accumulates the
event-driven simulator performed: after a pooling layer an input is non-zero when any spike it
averages is, so 'sim' exceeds the rule there.
`)
	return err
}
