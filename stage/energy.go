package stage

import (
	"context"

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
	if err := CheckData(j.Data, RoleData, j.Model); err != nil {
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
