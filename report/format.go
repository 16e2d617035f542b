package report

import (
	"fmt"
	"math"
	"strings"
)

// missing is what a cell shows for a value that does not apply.
const missing = "–"

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// pct prints a fraction as a percentage with one decimal: 0.902 → "90.2 %".
func pct(v float64) string {
	if !finite(v) {
		return "n/a"
	}
	return noNegZero(fmt.Sprintf("%.1f", 100*v)) + " %"
}

// rate prints a spike rate (a fraction) as a percentage with two decimals,
// so rates below 0.1 % stay visible: 0.0002 → "0.02 %".
func rate(v float64) string {
	if !finite(v) {
		return "n/a"
	}
	return noNegZero(fmt.Sprintf("%.2f", 100*v)) + " %"
}

// points prints a difference in percentage points with its sign:
// 3.75 → "+3.8 pp", -1.2 → "−1.2 pp", values that round to zero → "0.0 pp".
func points(v float64) string {
	if !finite(v) {
		return "n/a"
	}
	s := fmt.Sprintf("%.1f", math.Abs(v))
	switch {
	case s == "0.0":
		return "0.0 pp"
	case v < 0:
		return "−" + s + " pp"
	}
	return "+" + s + " pp"
}

// fixed prints v with the given number of decimals.
func fixed(v float64, decimals int) string {
	if !finite(v) {
		return "n/a"
	}
	return noNegZero(fmt.Sprintf("%.*f", decimals, v))
}

// noNegZero turns "-0.0" and the like into "0.0".
func noNegZero(s string) string {
	if strings.HasPrefix(s, "-") && strings.Trim(s[1:], "0.") == "" {
		return s[1:]
	}
	return s
}

// timesteps prints T, or "–" for 0 (an ANN).
func timesteps(t int) string {
	if t <= 0 {
		return missing
	}
	return fmt.Sprint(t)
}

// unit is a scale and the name of the unit it converts to.
type unit struct {
	scale float64
	name  string
}

func (u unit) format(v float64, decimals int) string { return fixed(v*u.scale, decimals) }

// maxAbs is the largest finite |v|, 0 if there is none.
func maxAbs(vs []float64) float64 {
	m := 0.0
	for _, v := range vs {
		if finite(v) {
			m = max(m, math.Abs(v))
		}
	}
	return m
}

// energyUnit chooses µJ, or mJ when the largest energy reaches 1 mJ.
func energyUnit(joules []float64) unit {
	if maxAbs(joules) >= 1e-3 {
		return unit{1e3, "mJ"}
	}
	return unit{1e6, "µJ"}
}

// countUnit chooses millions, or billions when the largest count reaches
// 10⁹.
func countUnit(counts []float64) unit {
	if maxAbs(counts) >= 1e9 {
		return unit{1e-9, "G"}
	}
	return unit{1e-6, "M"}
}

// duration prints a wall time: "0.4 s", "42.0 s", "1 min 46 s", "2 h 5 min".
func duration(seconds float64) string {
	if !finite(seconds) || seconds < 0 {
		return "n/a"
	}
	if seconds < 60 {
		return fmt.Sprintf("%.1f s", seconds)
	}
	s := int64(math.Round(seconds))
	if s < 3600 {
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	}
	return fmt.Sprintf("%d h %d min", s/3600, (s%3600)/60)
}

// yesNo prints a flag.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// orMissing returns s, or "–" when s is empty.
func orMissing(s string) string {
	if strings.TrimSpace(s) == "" {
		return missing
	}
	return s
}

// slug turns a name into a file name part of lower-case letters, digits
// and single dashes; an empty result becomes "x".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

// names hands out file names that are unique within one report.
type names map[string]bool

// get returns prefix-slug(parts…).png, with -2, -3, … appended before the
// extension when the name is taken.
func (n names) get(prefix string, parts ...string) string {
	base := prefix
	for _, p := range parts {
		base += "-" + slug(p)
	}
	name := base + ".png"
	for i := 2; n[name]; i++ {
		name = fmt.Sprintf("%s-%d.png", base, i)
	}
	n[name] = true
	return name
}
