package convert

import (
	"fmt"

	"github.com/privatesnn/privatesnn/snn"
)

// Candidate is one combination of conversion settings that a data-free
// selection (Select) tries for a spiking network.
type Candidate struct {
	// Percentile sets every threshold to this percentile of the layer's
	// input currents; 0 means their maximum.
	Percentile   float64     `json:"percentile"`
	InitMembrane float64     `json:"init_membrane"` // see snn.Config.InitMembrane
	Encoder      snn.Encoder `json:"encoder"`
	// Activations takes the thresholds from the ANN instead of the
	// spiking network's currents: layer l's clip λ_l is the Percentile
	// of the ANN's pre-activations (all of them, negative ones included)
	// on the calibration images, and θ_l = λ_l/λ_{l−1} (λ_{−1} = 1), as a
	// spike of layer l stands for the activation λ_l. No threshold search
	// runs. Percentile must lie in [50, 100).
	Activations bool `json:"activations,omitempty"`
	// Clips takes the thresholds from the clips λ_l of the ANN's QCFS
	// activations (vgg.Config.Levels > 0; package qcfs trains them):
	// θ_l = λ_l/λ_{l−1}, as for Activations. No threshold search runs and
	// Percentile is unused (0).
	Clips bool `json:"clips,omitempty"`
}

// CandidateScore is a candidate with its thresholds and how well the
// spiking network built from them agrees with its ANN on held-out
// synthetic images.
type CandidateScore struct {
	Candidate
	Thresholds []float32 `json:"thresholds,omitempty"`
	// Agreement is the fraction of held-out images on which the spiking
	// network's top-1 class after Timesteps steps equals the ANN's.
	Agreement float64 `json:"agreement"`
	// AgreementHalf is the same after HalfTimesteps steps.
	AgreementHalf float64 `json:"agreement_half"`
	// Error says why the candidate could not be scored (e.g. a layer that
	// never receives a positive current); such a candidate is never chosen.
	Error   string  `json:"error,omitempty"`
	Seconds float64 `json:"seconds"`
}

// Selection records a data-free choice of conversion settings: every
// candidate tried, its score, and which one was chosen.
type Selection struct {
	Timesteps         int              `json:"timesteps"`
	HalfTimesteps     int              `json:"half_timesteps"`
	CalibrationImages int              `json:"calibration_images"`
	HeldOutImages     int              `json:"held_out_images"`
	Rule              string           `json:"rule"`   // how the chosen candidate was picked, in words
	Chosen            int              `json:"chosen"` // index into Candidates
	Candidates        []CandidateScore `json:"candidates"`
	Seconds           float64          `json:"seconds"`
}

// String describes the candidate in words: "percentile 99.9, initial
// membrane 0.5·θ, direct input".
func (c Candidate) String() string {
	th := "max current"
	switch {
	case c.Clips:
		th = "the ANN's QCFS clips"
	case c.Activations:
		th = fmt.Sprintf("percentile %g of the ANN's activations", c.Percentile)
	case c.Percentile > 0 && c.Percentile < 100:
		th = fmt.Sprintf("percentile %g", c.Percentile)
	}
	return fmt.Sprintf("%s, initial membrane %g·θ, %s input", th, c.InitMembrane, c.Encoder)
}
