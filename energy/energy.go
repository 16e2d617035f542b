// Package energy estimates the computational energy of an ANN and of its
// spiking version by counting operations (SPEC §6.2, after Panda, Aketi &
// Roy 2020): the ANN performs one multiply-accumulate (MAC) per synapse per
// inference; the SNN performs one accumulate (AC) per synapse per input
// spike. Memory and peripheral costs are not modelled.
//
// # Overview
//
//	E_ANN = Σ_l MACs_l · E_MAC
//	E_SNN = Σ_l MACs_l · R_l · E_AC
//
// R_l is the spike rate of layer l's input: the encoded input for the first
// layer, and the rate of the spiking layer that feeds layer l otherwise
// (before its pooling, as the paper counts). The paper's "average number of
// spikes across time" is ambiguous, so both readings are reported: the rate
// per time step (spikes / (neurons · T)) and the total per neuron over the
// window (that times T). Two cost tables are provided: 45 nm CMOS FP32
// (E_MAC 4.6 pJ, E_AC 0.9 pJ; Horowitz 2014) and the integer 3.1/0.1 pair
// used by Rathi-lineage scripts.
//
// # Error handling
//
// Report panics if the run's layer count does not match the model (a
// programmer error); there is no data-dependent failure.
//
// # Concurrency
//
// Functions are pure.
package energy

import (
	"fmt"

	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/vgg"
)

// Costs is the energy of one operation, in picojoules.
type Costs struct {
	Name  string  `json:"name"`
	MACpJ float64 `json:"mac_pj"`
	ACpJ  float64 `json:"ac_pj"`
}

// Horowitz45nm returns 45 nm CMOS 32-bit floating-point costs:
// 4.6 pJ per MAC, 0.9 pJ per AC.
func Horowitz45nm() Costs { return Costs{Name: "45nm-fp32", MACpJ: 4.6, ACpJ: 0.9} }

// Rathi returns the 3.1 pJ / 0.1 pJ pair of the Rathi-lineage scripts.
func Rathi() Costs { return Costs{Name: "3.1/0.1", MACpJ: 3.1, ACpJ: 0.1} }

// Layer is one weighted layer's accounting.
type Layer struct {
	Name      string  `json:"name"`
	MACs      int64   `json:"macs"`              // per image
	InputRate float64 `json:"input_rate"`        // spikes per input neuron per step
	ANNpJ     float64 `json:"ann_pj"`            // MACs · E_MAC
	ACsStep   float64 `json:"acs_per_step_rate"` // MACs · R
	ACsWindow float64 `json:"acs_window_rate"`   // MACs · R · T
	SNNStepPJ float64 `json:"snn_pj_per_step_rate"`
	SNNWinPJ  float64 `json:"snn_pj_window_rate"`
}

// Report is the energy estimate of one model under one cost table.
type Report struct {
	Costs     Costs   `json:"costs"`
	Timesteps int     `json:"timesteps"`
	Layers    []Layer `json:"layers"`
	ANNpJ     float64 `json:"ann_pj"`
	// SNN energy and ANN/SNN ratio under the per-step rate reading …
	SNNStepPJ float64 `json:"snn_pj_per_step_rate"`
	RatioStep float64 `json:"ann_over_snn_per_step_rate"`
	// … and under the whole-window reading (rate × T).
	SNNWinPJ float64 `json:"snn_pj_window_rate"`
	RatioWin float64 `json:"ann_over_snn_window_rate"`
}

// FromRun computes the report for model m from a simulation result r of
// its spiking network.
func FromRun(m *vgg.Model, r *snn.Result, c Costs) Report {
	macs := m.MACs()
	if len(macs) != len(r.Layers) {
		panic(fmt.Sprintf("energy: %d layers in the model, %d in the run", len(macs), len(r.Layers)))
	}
	rates := make([]float64, len(macs))
	for i := range macs {
		if i == 0 {
			rates[i] = r.InputRate(0)
		} else {
			rates[i] = r.SpikeRate(i - 1)
		}
	}
	return Compute(macs, rates, r.Timesteps, c)
}

// Compute builds a report from per-layer MACs and input spike rates.
func Compute(macs []vgg.LayerMACs, rates []float64, T int, c Costs) Report {
	rep := Report{Costs: c, Timesteps: T}
	for i, l := range macs {
		m := float64(l.MACs)
		e := Layer{Name: l.Name, MACs: l.MACs, InputRate: rates[i], ANNpJ: m * c.MACpJ,
			ACsStep: m * rates[i], ACsWindow: m * rates[i] * float64(T)}
		e.SNNStepPJ, e.SNNWinPJ = e.ACsStep*c.ACpJ, e.ACsWindow*c.ACpJ
		rep.Layers = append(rep.Layers, e)
		rep.ANNpJ += e.ANNpJ
		rep.SNNStepPJ += e.SNNStepPJ
		rep.SNNWinPJ += e.SNNWinPJ
	}
	if rep.SNNStepPJ > 0 {
		rep.RatioStep = rep.ANNpJ / rep.SNNStepPJ
	}
	if rep.SNNWinPJ > 0 {
		rep.RatioWin = rep.ANNpJ / rep.SNNWinPJ
	}
	return rep
}
