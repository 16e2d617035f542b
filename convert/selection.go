package convert

import "github.com/privatesnn/privatesnn/snn"

// Candidate is one combination of conversion settings that a data-free
// selection (Select) tries for a spiking network.
type Candidate struct {
	// Percentile sets every threshold to this percentile of the layer's
	// input currents; 0 means their maximum.
	Percentile   float64     `json:"percentile"`
	InitMembrane float64     `json:"init_membrane"` // see snn.Config.InitMembrane
	Encoder      snn.Encoder `json:"encoder"`
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
