package stage

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/snn"
)

// Readouts is a list of readout steps written "4,8,16", or "auto" for
// none (nil: the stage's own spacing): a flag.Value.
type Readouts []int

// Set implements flag.Value; every entry must be a time step in
// [1, snn.MaxTimesteps].
func (r *Readouts) Set(s string) error {
	if s == "auto" {
		*r = nil
		return nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || t < 1 || t > snn.MaxTimesteps {
			return fmt.Errorf("entry %q is not a time step in [1, %d]", f, snn.MaxTimesteps)
		}
		out = append(out, t)
	}
	*r = out
	return nil
}

// String implements flag.Value.
func (r *Readouts) String() string {
	if r == nil || *r == nil {
		return "auto"
	}
	parts := make([]string, len(*r))
	for i, t := range *r {
		parts[i] = strconv.Itoa(t)
	}
	return strings.Join(parts, ",")
}
