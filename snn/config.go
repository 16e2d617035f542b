package snn

import (
	"fmt"
	"math"
)

// Reset selects what happens to the membrane potential after a spike.
type Reset uint8

const (
	// ResetSubtract lowers U by θ, keeping the residual (soft reset, the
	// reference's choice for conversion).
	ResetSubtract Reset = iota
	// ResetZero sets U to 0 (hard reset).
	ResetZero
)

// String implements fmt.Stringer.
func (r Reset) String() string {
	switch r {
	case ResetSubtract:
		return "subtract"
	case ResetZero:
		return "zero"
	}
	return fmt.Sprintf("Reset(%d)", uint8(r))
}

// MarshalText implements encoding.TextMarshaler.
func (r Reset) MarshalText() ([]byte, error) {
	if r > ResetZero {
		return nil, fmt.Errorf("snn: invalid reset mode %d", uint8(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Reset) UnmarshalText(b []byte) error {
	switch string(b) {
	case "subtract", "soft":
		*r = ResetSubtract
	case "zero", "hard":
		*r = ResetZero
	default:
		return fmt.Errorf("unknown reset mode %q (subtract or zero)", b)
	}
	return nil
}

// Encoder selects how an image becomes input for the first layer.
type Encoder uint8

const (
	// Poisson emits, per pixel and step, sign(x) when U[0,1) ≤ |x|, else 0,
	// so E[s] = x for |x| ≤ 1.
	Poisson Encoder = iota
	// Direct feeds the analog image x at every step.
	Direct
)

// String implements fmt.Stringer.
func (e Encoder) String() string {
	switch e {
	case Poisson:
		return "poisson"
	case Direct:
		return "direct"
	}
	return fmt.Sprintf("Encoder(%d)", uint8(e))
}

// MarshalText implements encoding.TextMarshaler.
func (e Encoder) MarshalText() ([]byte, error) {
	if e > Direct {
		return nil, fmt.Errorf("snn: invalid encoder %d", uint8(e))
	}
	return []byte(e.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (e *Encoder) UnmarshalText(b []byte) error {
	switch string(b) {
	case "poisson", "rate":
		*e = Poisson
	case "direct", "analog":
		*e = Direct
	default:
		return fmt.Errorf("unknown encoder %q (poisson or direct)", b)
	}
	return nil
}

// Config holds the spiking parameters of a network.
type Config struct {
	Timesteps  int       `json:"timesteps"`
	Leak       float64   `json:"leak"` // λ; 1 = IF neuron
	Reset      Reset     `json:"reset"`
	Encoder    Encoder   `json:"encoder"`
	Thresholds []float32 `json:"thresholds"` // one per spiking layer: every conv, then every hidden FC
	// InitMembrane is the membrane potential every hidden spiking layer
	// starts each image with, as a fraction of that layer's threshold:
	// U[0] = InitMembrane·θ, in [0, 1]. 0 is the reference; 0.5 halves the
	// expected quantisation error of a rate-coded IF neuron and so lowers
	// the T needed to approach the ANN. The output layer always starts at 0.
	InitMembrane float64 `json:"init_membrane,omitempty"`
	// ChannelInit, when set, gives every hidden spiking layer one initial
	// membrane per output channel (conv channel or FC unit), as a fraction
	// of the layer's threshold: U[0] = ChannelInit[l][c]·θ_l for the
	// neurons of channel c, in place of InitMembrane. It carries a
	// per-channel correction of the conversion's expected error (potential
	// correction); values may lie outside [0, 1] (below 0 a channel needs
	// more input before its first spike) but within ±MaxChannelInit.
	ChannelInit [][]float32 `json:"channel_init,omitempty"`
	// Signed makes every hidden spiking layer's neurons signed: besides
	// its positive spike, a neuron emits a negative spike (−1) when its
	// membrane falls below 0 while it has fired more positive spikes than
	// negative ones, and its membrane then rises by θ (see signedBurstStep). It
	// needs reset by subtraction. false is the reference's neuron.
	Signed bool `json:"signed,omitempty"`
	// Burst lets every hidden spiking layer's neurons fire up to Burst
	// spikes in one step (burst spikes): a neuron whose charged membrane v
	// exceeds k·θ for k = 1..Burst fires k spikes at once (the largest
	// such k) and its membrane falls by k·θ (see burstStep). The next
	// layer receives the count as its input value, and every spike counts
	// (spike counts, synaptic operations). 0 and 1 are the ordinary
	// neuron; it needs reset by subtraction. With Signed as well, a neuron
	// fires up to Burst positive spikes in a step or one negative spike
	// (signedBurstStep).
	Burst int `json:"burst,omitempty"`
}

// MaxBurst bounds Config.Burst.
const MaxBurst = 15

// burst returns the most spikes a neuron fires in one step (≥ 1).
func (c *Config) burst() int { return max(1, c.Burst) }

// MaxChannelInit bounds |ChannelInit| (in thresholds).
const MaxChannelInit = 1000

// initial returns the initial membranes of spiking layer l (see
// Config.InitMembrane and Config.ChannelInit).
func (c *Config) initial(l int) initial {
	theta := c.Thresholds[l]
	if len(c.ChannelInit) == 0 {
		return initial{u0: float32(c.InitMembrane * float64(theta))}
	}
	ch := make([]float32, len(c.ChannelInit[l]))
	for i, f := range c.ChannelInit[l] {
		ch[i] = f * theta
	}
	return initial{ch: ch}
}

// MaxTimesteps bounds T.
const MaxTimesteps = 100000

// Validate checks the configuration against a network with the given
// number of spiking layers.
func (c Config) Validate(spikingLayers int) error {
	if c.Timesteps < 1 || c.Timesteps > MaxTimesteps {
		return fmt.Errorf("snn: timesteps %d out of range [1, %d]", c.Timesteps, MaxTimesteps)
	}
	if !(c.Leak > 0 && c.Leak <= 1) {
		return fmt.Errorf("snn: leak %g outside (0, 1]", c.Leak)
	}
	if c.Reset > ResetZero || c.Encoder > Direct {
		return fmt.Errorf("snn: invalid reset %d or encoder %d", c.Reset, c.Encoder)
	}
	if c.Signed && c.Reset != ResetSubtract {
		return fmt.Errorf("snn: signed neurons need reset by subtraction, not %s", c.Reset)
	}
	if c.Burst < 0 || c.Burst > MaxBurst {
		return fmt.Errorf("snn: burst %d outside [0, %d] spikes per step", c.Burst, MaxBurst)
	}
	if c.Burst > 1 && c.Reset != ResetSubtract {
		return fmt.Errorf("snn: burst spikes need reset by subtraction, not %s", c.Reset)
	}
	if !(c.InitMembrane >= 0 && c.InitMembrane <= 1) {
		return fmt.Errorf("snn: initial membrane %g outside [0, 1] (a fraction of the threshold)", c.InitMembrane)
	}
	if len(c.Thresholds) != spikingLayers {
		return fmt.Errorf("snn: %d thresholds for %d spiking layers", len(c.Thresholds), spikingLayers)
	}
	for i, th := range c.Thresholds {
		if !(th > 0) || math.IsInf(float64(th), 0) {
			return fmt.Errorf("snn: threshold %d is %g, want a positive finite value", i, th)
		}
	}
	if len(c.ChannelInit) != 0 && len(c.ChannelInit) != spikingLayers {
		return fmt.Errorf("snn: per-channel initial membranes for %d layers, want %d spiking layers", len(c.ChannelInit), spikingLayers)
	}
	for l, ch := range c.ChannelInit {
		for i, v := range ch {
			if !(math.Abs(float64(v)) <= MaxChannelInit) {
				return fmt.Errorf("snn: initial membrane %d of layer %d is %g, want a finite value within ±%d thresholds", i, l, v, MaxChannelInit)
			}
		}
	}
	return nil
}
