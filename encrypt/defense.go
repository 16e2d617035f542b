package encrypt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/tensor"
)

// Defaults of the defences' secondary knobs, taken when a defence is on
// and its knob is zero.
const (
	// DefaultTrapdoorBlend is β, the trigger's share of a triggered image.
	DefaultTrapdoorBlend = 0.3
	// TriggerGrid is the side of the grid of uniform noise a trigger
	// pattern is upsampled from: coarse enough that the pattern is smooth,
	// so an attacker's image prior (total variation) does not suppress it.
	TriggerGrid = 7
	// EraseAspectMin and EraseAspectMax bound the erased rectangle's
	// aspect ratio, height over width (Zhong et al.'s 0.3 and 1/0.3).
	EraseAspectMin, EraseAspectMax = 0.3, 3.3
	// eraseTries is how many rectangles erasing draws before it gives an
	// image up, as Zhong et al. do; a rectangle is kept when it fits.
	eraseTries = 100
	// triggerStream is the PCG's second word for the trigger patterns.
	triggerStream = 0x7a3d00c1a55
)

// DefaultEraseMin and DefaultEraseMax bound the erased rectangle's share of
// the image when EraseArea is zero.
const (
	DefaultEraseMin = 0.1
	DefaultEraseMax = 0.4
)

// defaultEraseArea is [DefaultEraseMin, DefaultEraseMax].
var defaultEraseArea = [2]float64{DefaultEraseMin, DefaultEraseMax}

// resolveDefenses fills the knobs of the defences that are on: the
// trapdoor's β, the erased area and White, norm's white pixel.
func (o Options) resolveDefenses(norm imageset.Normalization) Options {
	if o.TrapdoorRate > 0 && o.TrapdoorBlend == 0 {
		o.TrapdoorBlend = DefaultTrapdoorBlend
	}
	if o.EraseRate > 0 && o.EraseArea == ([2]float64{}) {
		o.EraseArea = defaultEraseArea
	}
	if o.TrapdoorRate > 0 || o.EraseRate > 0 {
		o.White = norm.Float32Value(255)
	}
	return o
}

// validateDefenses reports defence knobs out of range.
func (o Options) validateDefenses() error {
	if !(o.LabelSmoothing >= -1 && o.LabelSmoothing <= 0.99) {
		return fmt.Errorf("encrypt: label smoothing %g out of range [-1, 0.99]", o.LabelSmoothing)
	}
	if !(o.TrapdoorRate >= 0 && o.TrapdoorRate <= 1) {
		return fmt.Errorf("encrypt: trapdoor rate %g out of range [0, 1]", o.TrapdoorRate)
	}
	if !(o.TrapdoorBlend >= 0 && o.TrapdoorBlend <= 1) {
		return fmt.Errorf("encrypt: trapdoor blend %g out of range (0, 1] (0: %g)", o.TrapdoorBlend, DefaultTrapdoorBlend)
	}
	if !(o.EraseRate >= 0 && o.EraseRate <= 1) {
		return fmt.Errorf("encrypt: erase rate %g out of range [0, 1]", o.EraseRate)
	}
	if a := o.EraseArea; a != ([2]float64{}) && !(a[0] > 0 && a[0] <= a[1] && a[1] <= 1) {
		return fmt.Errorf("encrypt: erase area [%g, %g]: want 0 < min ≤ max ≤ 1 (or both 0: %v)", a[0], a[1], defaultEraseArea)
	}
	if math.IsNaN(float64(o.White)) || math.IsInf(float64(o.White), 0) {
		return fmt.Errorf("encrypt: white pixel %g, want a finite value", o.White)
	}
	return nil
}

// Defenses summarises the inversion defences that are on, for tables:
// for example "nls α=-0.2, trapdoor ρ=0.1 β=0.3, erase p=0.5 area=[0.1,0.4]"
// ("ls" for positive smoothing); "" when none is.
func (o Options) Defenses() string {
	var parts []string
	switch a := o.LabelSmoothing; {
	case a < 0:
		parts = append(parts, fmt.Sprintf("nls α=%g", a))
	case a > 0:
		parts = append(parts, fmt.Sprintf("ls α=%g", a))
	}
	if o.TrapdoorRate > 0 {
		parts = append(parts, fmt.Sprintf("trapdoor ρ=%g β=%g", o.TrapdoorRate, o.trapdoorBlend()))
	}
	if o.EraseRate > 0 {
		a := o.eraseArea()
		parts = append(parts, fmt.Sprintf("erase p=%g area=[%g,%g]", o.EraseRate, a[0], a[1]))
	}
	return strings.Join(parts, ", ")
}

// trapdoorBlend returns β, the default for 0.
func (o Options) trapdoorBlend() float64 {
	if o.TrapdoorBlend == 0 {
		return DefaultTrapdoorBlend
	}
	return o.TrapdoorBlend
}

// eraseArea returns the erased area's bounds, the default for zero.
func (o Options) eraseArea() [2]float64 {
	if o.EraseArea == ([2]float64{}) {
		return defaultEraseArea
	}
	return o.EraseArea
}

// pixelRange returns the normalised pixel range [Fill, White] (White 0,
// options not resolved, or not above Fill: Fill + 2).
func (o Options) pixelRange() (lo, hi float32) {
	if o.White != 0 && o.White > o.Fill {
		return o.Fill, o.White
	}
	return o.Fill, o.Fill + 2
}

// Triggers returns the trapdoor's trigger patterns [classes, c, h, w],
// one per class: for every class and channel a TriggerGrid × TriggerGrid
// grid of values uniform in the pixel range [Fill, White] (see White),
// drawn from a PCG seeded by o.TrapdoorSeed in the order class, channel,
// row, column, and upsampled bilinearly to h × w with the grid's corners
// on the image's. They depend on o's TrapdoorSeed, Fill and White only,
// so an audit can rebuild them from the recorded options.
func Triggers(o Options, c, h, w, classes int) (*tensor.Tensor, error) {
	if c < 1 || h < 1 || w < 1 || classes < 1 || c*h*w*classes > 1<<30 {
		return nil, fmt.Errorf("encrypt: triggers of %d classes of %d×%d×%d pixels, want positive sizes of at most 2³⁰ values", classes, c, h, w)
	}
	lo, hi := o.pixelRange()
	rng := rand.New(rand.NewPCG(o.TrapdoorSeed, triggerStream))
	const g = TriggerGrid
	grid := make([]float64, g*g)
	out := tensor.New(classes, c, h, w)
	for p := range classes * c {
		for i := range grid {
			grid[i] = float64(lo) + float64(hi-lo)*rng.Float64()
		}
		upsample(out.Data[p*h*w:(p+1)*h*w], grid, g, h, w)
	}
	return out, nil
}

// upsample writes the bilinear interpolation of the g × g grid at h × w
// points into dst, the grid's corners on the image's corners.
func upsample(dst []float32, grid []float64, g, h, w int) {
	at := func(i, n int) (int, float64) { // grid cell and offset of pixel i of n
		if n == 1 {
			return 0, 0
		}
		p := float64(i) * float64(g-1) / float64(n-1)
		k := min(int(p), g-2)
		return k, p - float64(k)
	}
	for r := range h {
		k, fy := at(r, h)
		for q := range w {
			l, fx := at(q, w)
			top := (1-fx)*grid[k*g+l] + fx*grid[k*g+l+1]
			bot := (1-fx)*grid[(k+1)*g+l] + fx*grid[(k+1)*g+l+1]
			dst[r*w+q] = float32((1-fy)*top + fy*bot)
		}
	}
}

// trap records which images of a batch carry a trigger: class[i] is the
// trigger's class of image i, −1 for an image without one.
type trap struct {
	class []int32
	count int
}

// drawTrap chooses the triggered images of a batch of b from rng: ⌊ρb⌋ of
// them, one more with probability ρb − ⌊ρb⌋ (so the expected fraction is
// ρ), uniformly without replacement, each with a class uniform in [0, k).
// It returns nil when it chose none.
func drawTrap(b, k int, rate float64, rng *rand.Rand) *trap {
	want := rate * float64(b)
	n := int(want)
	if rng.Float64() < want-float64(n) {
		n++
	}
	n = min(n, b)
	if n == 0 {
		return nil
	}
	perm := make([]int, b)
	for i := range perm {
		perm[i] = i
	}
	tr := &trap{class: make([]int32, b), count: n}
	for i := range tr.class {
		tr.class[i] = -1
	}
	for i := range n {
		j := i + rng.IntN(b-i)
		perm[i], perm[j] = perm[j], perm[i]
		tr.class[perm[i]] = int32(rng.IntN(k))
	}
	return tr
}

// apply blends trigger t_c into every triggered image of x [B, ...]:
// (1 − β)·x + β·t_c, with triggers [k, ...] from Triggers.
func (tr *trap) apply(x, triggers *tensor.Tensor, beta float64) {
	n := len(x.Data) / x.Shape[0]
	for i, c := range tr.class {
		if c < 0 {
			continue
		}
		xi, t := x.Data[i*n:(i+1)*n], triggers.Data[int(c)*n:(int(c)+1)*n]
		for p, v := range xi {
			xi[p] = float32((1-beta)*float64(v) + beta*float64(t[p]))
		}
	}
}

// eraseBox draws a rectangle of an h × w image: its area a share of the
// image uniform in [area[0], area[1]], its aspect ratio (height over
// width) log-uniform in [EraseAspectMin, EraseAspectMax], its sides
// rounded to whole pixels and its corner uniform where it fits. It draws
// up to eraseTries times and reports false when no rectangle fit.
func eraseBox(h, w int, area [2]float64, rng *rand.Rand) (r0, c0, eh, ew int, ok bool) {
	la, lb := math.Log(EraseAspectMin), math.Log(EraseAspectMax)
	for range eraseTries {
		a := (area[0] + (area[1]-area[0])*rng.Float64()) * float64(h*w)
		ratio := math.Exp(la + (lb-la)*rng.Float64())
		eh, ew = int(math.Round(math.Sqrt(a*ratio))), int(math.Round(math.Sqrt(a/ratio)))
		if eh >= 1 && ew >= 1 && eh <= h && ew <= w {
			return rng.IntN(h - eh + 1), rng.IntN(w - ew + 1), eh, ew, true
		}
	}
	return 0, 0, 0, 0, false
}

// eraseBatch erases, in place, one rectangle (eraseBox) of each image of
// x [B, C, H, W] with probability rate, in every channel, filling it with
// values uniform in [lo, hi]; every draw comes from rng.
func eraseBatch(x *tensor.Tensor, rate float64, area [2]float64, lo, hi float32, rng *rand.Rand) {
	c, h, w := x.Shape[1], x.Shape[2], x.Shape[3]
	for i := range x.Shape[0] {
		if !(rng.Float64() < rate) {
			continue
		}
		r0, c0, eh, ew, ok := eraseBox(h, w, area, rng)
		if !ok {
			continue
		}
		for ch := range c {
			plane := x.Data[(i*c+ch)*h*w : (i*c+ch+1)*h*w]
			for r := r0; r < r0+eh; r++ {
				for q := c0; q < c0+ew; q++ {
					plane[r*w+q] = lo + (hi-lo)*rng.Float32()
				}
			}
		}
	}
}
