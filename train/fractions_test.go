package train

import "testing"

// TestFractions: increasing fractions in (0, 1) round-trip, empty entries
// are skipped ("" is none), anything else is refused.
func TestFractions(t *testing.T) {
	var f Fractions
	if err := f.Set("0.5, 0.75,"); err != nil || f.String() != "0.5,0.75" {
		t.Errorf("Set: %v, %v", f, err)
	}
	if err := f.Set(""); err != nil || len(f) != 0 {
		t.Errorf("Set empty: %v, %v", f, err)
	}
	for _, bad := range []string{"0.8,0.2", "1", "0", "x"} {
		if err := f.Set(bad); err == nil {
			t.Errorf("Set %q: no error", bad)
		}
	}
}
