// Package energy estimates the computational energy of an ANN and of its
// spiking version by counting operations (after Panda, Aketi &
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
// With Direct (analog) input the first layer multiplies real pixel values:
// it costs MACs_1 · E_MAC per time step, like an ANN layer, in both readings
// (MACs_1 · E_MAC per step, T · MACs_1 · E_MAC over the window), as on
// hardware that recomputes it every step. The simulator computes that
// constant current once per image; the report also gives the window energy
// under that once-per-image count (SNNWinOncePJ).
//
// The rule above undercounts a conv that follows a pool: one non-zero
// pooled value, which gathers one to four spikes, triggers a whole weight
// row, so an event-driven kernel performs up to four times MACs · R
// accumulations. Reports therefore also give the count the simulator
// measures (snn.LayerStats.SynapticOps: every non-zero input times the
// taps it reaches inside the output, times Cout) and its energy, beside the
// rule.
//
// VersusT gives the reports at every readout step of one run, for energy
// against T.
//
// # Error handling
//
// FromRun and VersusT panic if the run's layer count does not match the
// model (a programmer error); there is no data-dependent failure.
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
	Name string `json:"name"`
	MACs int64  `json:"macs"` // per image
	// InputRate is the spike rate per input neuron per step; for an
	// analog layer, the fraction of non-zero input values.
	InputRate float64 `json:"input_rate"`
	// Analog marks a layer fed the analog image (Direct input): it
	// performs MACs, not ACs, and its SNN energy is MACs·E_MAC per step.
	Analog    bool    `json:"analog_input,omitempty"`
	ANNpJ     float64 `json:"ann_pj"`            // MACs · E_MAC
	ACsStep   float64 `json:"acs_per_step_rate"` // MACs · R (0 for an analog layer)
	ACsWindow float64 `json:"acs_window_rate"`   // MACs · R · T (0 for an analog layer)
	SNNStepPJ float64 `json:"snn_pj_per_step_rate"`
	SNNWinPJ  float64 `json:"snn_pj_window_rate"`
	// Measured operations per image (ACs, or MACs for an analog layer) as
	// an event-driven kernel performs them (snn.LayerStats.SynapticOps),
	// per step and over the window, with their energy; 0 when unknown.
	MeasuredStep      float64 `json:"ops_measured_per_step"`
	MeasuredWindow    float64 `json:"ops_measured_window"`
	SNNMeasuredStepPJ float64 `json:"snn_pj_measured_per_step"`
	SNNMeasuredWinPJ  float64 `json:"snn_pj_measured_window"`
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
	// With an analog first layer: the window energy counting its MACs once
	// per image, as the simulator computes them, instead of once per step.
	SNNWinOncePJ float64 `json:"snn_pj_window_rate_analog_once,omitempty"`
	RatioWinOnce float64 `json:"ann_over_snn_window_rate_analog_once,omitempty"`
	// The same two readings with the measured operation counts.
	SNNMeasuredStepPJ float64 `json:"snn_pj_measured_per_step,omitempty"`
	RatioMeasuredStep float64 `json:"ann_over_snn_measured_per_step,omitempty"`
	SNNMeasuredWinPJ  float64 `json:"snn_pj_measured_window,omitempty"`
	RatioMeasuredWin  float64 `json:"ann_over_snn_measured_window,omitempty"`
}

// Input is one weighted layer's activity, the input of Build.
type Input struct {
	MACs vgg.LayerMACs
	// Rate is the input spike rate per neuron per step (for an analog
	// layer, the fraction of non-zero values; informative only).
	Rate float64
	// Analog marks a layer fed the analog image (Direct input).
	Analog bool
	// MeasuredOps is the operations per image per step the simulator
	// counted (snn.LayerStats.SynapticOps / (images · T)); 0 if unknown.
	MeasuredOps float64
}

// FromRun computes the report for model m from a simulation result r of
// its spiking network. With Direct input the first layer is analog.
func FromRun(m *vgg.Model, r *snn.Result, c Costs) Report {
	macs := m.MACs()
	if len(macs) != len(r.Layers) {
		panic(fmt.Sprintf("energy: %d layers in the model, %d in the run", len(macs), len(r.Layers)))
	}
	in := make([]Input, len(macs))
	steps := float64(r.Images) * float64(r.Timesteps)
	for i := range macs {
		in[i] = Input{MACs: macs[i]}
		if steps > 0 {
			in[i].MeasuredOps = float64(r.Layers[i].SynapticOps) / steps
		}
		if i == 0 {
			in[i].Rate, in[i].Analog = r.InputRate(0), r.Encoder == snn.Direct
		} else {
			in[i].Rate = r.SpikeRate(i - 1)
		}
	}
	return Build(in, r.Timesteps, c)
}

// VersusT returns the report at every readout step of r (r.Readouts), each
// as if the run had stopped there (snn.Result.UpTo): energy against T.
func VersusT(m *vgg.Model, r *snn.Result, c Costs) []Report {
	out := make([]Report, len(r.Readouts))
	for i := range r.Readouts {
		out[i] = FromRun(m, r.UpTo(i), c)
	}
	return out
}

// Compute builds a report from per-layer MACs and input spike rates, every
// layer spike-driven and no measured counts.
func Compute(macs []vgg.LayerMACs, rates []float64, T int, c Costs) Report {
	in := make([]Input, len(macs))
	for i := range macs {
		in[i] = Input{MACs: macs[i], Rate: rates[i]}
	}
	return Build(in, T, c)
}

// Build computes a report from per-layer activity at T steps.
func Build(layers []Input, T int, c Costs) Report {
	rep := Report{Costs: c, Timesteps: T}
	var analog, measured bool
	for _, in := range layers {
		m := float64(in.MACs.MACs)
		e := Layer{Name: in.MACs.Name, MACs: in.MACs.MACs, InputRate: in.Rate, Analog: in.Analog, ANNpJ: m * c.MACpJ,
			MeasuredStep: in.MeasuredOps, MeasuredWindow: in.MeasuredOps * float64(T)}
		opPJ := c.ACpJ
		if in.Analog {
			analog, opPJ = true, c.MACpJ
			e.SNNStepPJ, e.SNNWinPJ = m*c.MACpJ, m*c.MACpJ*float64(T)
			rep.SNNWinOncePJ += m * c.MACpJ
		} else {
			e.ACsStep, e.ACsWindow = m*in.Rate, m*in.Rate*float64(T)
			e.SNNStepPJ, e.SNNWinPJ = e.ACsStep*c.ACpJ, e.ACsWindow*c.ACpJ
			rep.SNNWinOncePJ += e.SNNWinPJ
		}
		e.SNNMeasuredStepPJ, e.SNNMeasuredWinPJ = e.MeasuredStep*opPJ, e.MeasuredWindow*opPJ
		measured = measured || in.MeasuredOps > 0
		rep.Layers = append(rep.Layers, e)
		rep.ANNpJ += e.ANNpJ
		rep.SNNStepPJ += e.SNNStepPJ
		rep.SNNWinPJ += e.SNNWinPJ
		rep.SNNMeasuredStepPJ += e.SNNMeasuredStepPJ
		rep.SNNMeasuredWinPJ += e.SNNMeasuredWinPJ
	}
	rep.RatioStep = ratio(rep.ANNpJ, rep.SNNStepPJ)
	rep.RatioWin = ratio(rep.ANNpJ, rep.SNNWinPJ)
	if analog {
		rep.RatioWinOnce = ratio(rep.ANNpJ, rep.SNNWinOncePJ)
	} else {
		rep.SNNWinOncePJ = 0
	}
	if measured {
		rep.RatioMeasuredStep = ratio(rep.ANNpJ, rep.SNNMeasuredStepPJ)
		rep.RatioMeasuredWin = ratio(rep.ANNpJ, rep.SNNMeasuredWinPJ)
	}
	return rep
}

func ratio(ann, snn float64) float64 {
	if snn > 0 {
		return ann / snn
	}
	return 0
}
