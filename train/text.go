package train

import "fmt"

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *Optimizer) UnmarshalText(b []byte) error {
	switch Optimizer(b) {
	case SGD, Adam:
		*o = Optimizer(b)
		return nil
	}
	return fmt.Errorf("want sgd or adam")
}

// MarshalText implements encoding.TextMarshaler.
func (o Optimizer) MarshalText() ([]byte, error) { return []byte(o), nil }

// Flip is the horizontal-flip augmentation setting.
type Flip string

const (
	FlipAuto Flip = "auto" // off for MNIST digits (a flipped digit is another digit), on otherwise
	FlipOn   Flip = "on"
	FlipOff  Flip = "off"
)

// UnmarshalText implements encoding.TextUnmarshaler.
func (f *Flip) UnmarshalText(b []byte) error {
	switch Flip(b) {
	case FlipAuto, FlipOn, FlipOff:
		*f = Flip(b)
		return nil
	}
	return fmt.Errorf("want on, off or auto")
}

// MarshalText implements encoding.TextMarshaler.
func (f Flip) MarshalText() ([]byte, error) { return []byte(f), nil }

// On reports whether images are flipped when training on the named data
// set ("mnist" holds digits).
func (f Flip) On(data string) bool {
	switch f {
	case FlipOn:
		return true
	case FlipOff:
		return false
	}
	return data != "mnist"
}
