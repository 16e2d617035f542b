package train

import (
	"errors"
	"strconv"
	"strings"
)

// Fractions is a list of the epochs' fractions at which the learning rate
// drops (Options.LRFractions), written "0.5,0.75": a flag.Value. Entries
// increase and lie in (0, 1); empty entries are skipped, so "" is none.
type Fractions []float64

// Set implements flag.Value.
func (f *Fractions) Set(s string) error {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || !(v > 0 && v < 1) || len(out) > 0 && v <= out[len(out)-1] {
			return errors.New("want increasing fractions in (0, 1)")
		}
		out = append(out, v)
	}
	*f = out
	return nil
}

// String implements flag.Value.
func (f *Fractions) String() string {
	if f == nil {
		return ""
	}
	parts := make([]string, len(*f))
	for i, v := range *f {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}
