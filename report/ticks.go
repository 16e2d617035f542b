package report

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// niceTicks labels multiples of a step of 1, 2, 2.5 or 5 × 10^k chosen to
// give about five to ten labels, with one unlabelled tick between labels.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || !finite(lo) || !finite(hi) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 6, 64)}}
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	decimals := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	if r := step / math.Pow(10, -float64(decimals)); math.Abs(r-math.Round(r)) > 1e-6 {
		decimals++ // 2.5 × 10^k
	}
	var ticks []plot.Tick
	half := step / 2
	for k := math.Ceil(lo/half - 1e-9); k*half <= hi+1e-9*step; k++ {
		v := k * half
		if math.Mod(k, 2) == 0 {
			ticks = append(ticks, plot.Tick{Value: v, Label: label(v, decimals)})
		} else {
			ticks = append(ticks, plot.Tick{Value: v})
		}
	}
	return ticks
}

// label prints v with the given decimals, without a minus sign on zero.
func label(v float64, decimals int) string {
	return noNegZero(strconv.FormatFloat(v, 'f', decimals, 64))
}

// logTicks labels 1, 2 and 5 × 10^k and marks the other integer multiples
// of 10^k without labels.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return niceTicks{}.Ticks(lo, hi)
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		p := math.Pow(10, e)
		for m := 1.0; m <= 9; m++ {
			v := m * p
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// valueTicks labels exactly the given values.
type valueTicks []float64

func (vs valueTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := make([]plot.Tick, 0, len(vs))
	for _, v := range vs {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
	}
	return ticks
}
