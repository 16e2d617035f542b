package encrypt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/tensor"
)

// The finite-difference step and tolerance of the defences' loss terms,
// as the plain loss's (see lossFDStep in encrypt_test.go): the difference
// is taken in float64 over the step realised in float32, z = κS is formed
// in float32, so rounding perturbs the quotient by at most about
// 6e-8·|s|/h ≈ 2e-4 of a component for |s| ≤ 3 and h = 2⁻¹⁰, and the
// central difference's truncation error is about h²κ²/6 ≤ 1e-7 of it.
// Smoothing only adds a term linear in the logits' log-softmax, and the
// trapdoor rows' loss is a plain cross-entropy, so the same bounds hold; a
// tolerance of 1e-3 of the largest component leaves a factor of five.
const (
	defFDStep = 1.0 / 1024
	defFDTol  = 1e-3
)

// fdCheck compares the gradient b.rows gives, in two chunks as TrainStep
// calls it, with central differences of b.value's total.
func fdCheck(t *testing.T, name string, b *batchLoss, s, a *tensor.Tensor) {
	t.Helper()
	k, n := b.k, b.n
	ds := make([]float32, n*k)
	ar := func(i0, i1 int) []float32 {
		if a == nil {
			return nil
		}
		return a.Data[i0*k : i1*k]
	}
	h := n / 2
	b.rows(ds[:h*k], s.Data[:h*k], ar(0, h), 0, h)
	b.rows(ds[h*k:], s.Data[h*k:], ar(h, n), h, n)
	var scale, worst float64
	num := make([]float64, len(ds))
	for i, old := range s.Data {
		sp, sm := float32(float64(old)+defFDStep), float32(float64(old)-defFDStep)
		s.Data[i] = sp
		lp := b.value(s, a).Total
		s.Data[i] = sm
		lm := b.value(s, a).Total
		s.Data[i] = old
		num[i] = (lp - lm) / (float64(sp) - float64(sm))
		scale = max(scale, math.Abs(num[i]))
	}
	if !(scale > 0) {
		t.Fatalf("%s: numeric gradient is zero", name)
	}
	for i, v := range num {
		d := math.Abs(v - float64(ds[i]))
		worst = max(worst, d/scale)
		if d > defFDTol*scale {
			t.Errorf("%s: ∂L/∂S[%d] analytic %g, numeric %g", name, i, ds[i], v)
		}
	}
	t.Logf("%s: worst relative error %.2g", name, worst)
}

// Every new loss term's gradient — smoothed cross-entropy with and
// without mixup and distillation, and the trapdoor rows' — against
// central differences of the value the training step reports.
func TestDefenseLossGradientFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	y := []int32{0, 4, 2, 2, 1, 3}
	bl := &blend{lam: []float64{0.9, 0.25, 0.5, 0.01, 1, 0.6}, partner: []int32{3, 2, 4, 0, 1, 1}}
	tr := &trap{class: []int32{-1, 3, -1, -1, 0, -1}, count: 2}
	all := &trap{class: []int32{1, 1, 0, 4, 2, 3}, count: 6}
	const n, k = 6, 5
	for _, kappa := range []float64{1, 0.3} {
		for _, m := range []float64{0, 0.7} {
			for _, alpha := range []float64{-0.5, -0.05, 0.2} {
				for _, c := range []struct {
					name string
					bl   *blend
					tr   *trap
				}{{"plain", nil, nil}, {"mixup", bl, nil}, {"trapdoor", nil, tr}, {"mixup+trapdoor", bl, tr}, {"all trapped", bl, all}} {
					s, a := tensor.New(n, k), tensor.New(n, k)
					s.RandUniform(rng, -3, 3)
					a.RandUniform(rng, -3, 3)
					b := &batchLoss{y: y, bl: c.bl, tr: c.tr, k: k, n: n, kappa: kappa, m: m, tau: 20, alpha: alpha}
					fdCheck(t, fmt.Sprintf("%s κ=%g m=%g α=%g", c.name, kappa, m, alpha), b, s, a)
				}
			}
		}
	}
}

// With α = 0 and no trapdoor the batch's loss is Loss's (LossRows, then
// the blend's rows and values) bit for bit.
func TestSmoothingZeroIsPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	const n, k = 5, 4
	y := []int32{1, 0, 3, 3, 2}
	for _, bl := range []*blend{nil, {lam: []float64{0.3, 0.8, 0.5, 0, 1}, partner: []int32{2, 3, 3, 0, 1}}} {
		for _, m := range []float64{0, 0.7} {
			s, a := tensor.New(n, k), tensor.New(n, k)
			s.RandUniform(rng, -30, 30)
			a.RandUniform(rng, -10, 10)
			b := &batchLoss{y: y, bl: bl, k: k, n: n, kappa: 0.37, m: m, tau: 20}
			got, want := make([]float32, n*k), make([]float32, n*k)
			b.rows(got, s.Data, a.Data, 0, n)
			LossRows(want, s.Data, a.Data, y, k, n, 0.37, m, 20)
			lv := LossValues(s, a, y, 0.37, m, 20)
			if bl != nil {
				bl.rows(want, s.Data, a.Data, 0, n, k, n, 0.37, m, 20)
				lv = bl.values(s, y, lv, 0.37, m)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("mixup %v m %g: gradient %d: %g with α = 0, %g plain", bl != nil, m, i, got[i], want[i])
				}
			}
			if v := b.value(s, a); v != lv {
				t.Errorf("mixup %v m %g: loss %+v with α = 0, %+v plain", bl != nil, m, v, lv)
			}
		}
	}
}

// The smoothed loss is the cross-entropy towards the smoothed target,
// computed independently with loss.SoftCrossEntropy, mixup's blended
// target too.
func TestSmoothingValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	const n, k = 4, 5
	y := []int32{1, 4, 0, 2}
	bl := &blend{lam: []float64{0.3, 0.8, 0.5, 1}, partner: []int32{2, 3, 3, 0}}
	for _, alpha := range []float64{-1, -0.2, 0.5, 0.99} {
		for _, withBlend := range []bool{false, true} {
			s := tensor.New(n, k)
			s.RandUniform(rng, -3, 3)
			targets := tensor.New(n, k)
			for i := range n {
				l := 1.0
				if withBlend {
					l = bl.lam[i]
					targets.Data[i*k+int(bl.partner[i])] += float32(1 - l)
				}
				targets.Data[i*k+int(y[i])] += float32(l)
			}
			for i, v := range targets.Data {
				targets.Data[i] = float32((1-alpha)*float64(v) + alpha/k)
			}
			want, _ := loss.SoftCrossEntropy(tensor.FromData(scaled(s.Data, 0.5), n, k), targets, 1)
			b := &batchLoss{y: y, k: k, n: n, kappa: 0.5, tau: 20, alpha: alpha}
			if withBlend {
				b.bl = bl
			}
			got := b.value(s, nil)
			if math.Abs(got.CE-want) > 1e-6*math.Abs(want) || got.Total != got.CE {
				t.Errorf("α %g mixup %v: %+v, want CE = Total = %g", alpha, withBlend, got, want)
			}
		}
	}
}

// A triggered row's loss is the hard cross-entropy towards its trigger's
// class with weight 1: its labels, blend and teacher logits do not enter.
func TestTrapRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	const n, k = 4, 3
	s, a := tensor.New(n, k), tensor.New(n, k)
	s.RandUniform(rng, -3, 3)
	a.RandUniform(rng, -3, 3)
	tr := &trap{class: []int32{2, 0, 1, 1}, count: 4}
	b := &batchLoss{y: []int32{0, 1, 2, 0}, bl: &blend{lam: []float64{0.2, 0.4, 0.6, 0.8}, partner: []int32{1, 1, 1, 1}},
		tr: tr, k: k, n: n, kappa: 0.7, m: 0.7, tau: 20, alpha: -0.3}
	z := tensor.FromData(scaled(s.Data, 0.7), n, k)
	ce, g := loss.CrossEntropy(z, tr.class)
	if got := b.value(s, a); math.Abs(got.Total-ce) > 1e-12*ce || got.CE != got.Total || got.KD != 0 {
		t.Errorf("all rows triggered: %+v, want CE = Total = %g and no KD", got, ce)
	}
	ds := make([]float32, n*k)
	b.rows(ds, s.Data, a.Data, 0, n)
	for i, v := range g.Data {
		if want := float32(0.7 * float64(v)); ds[i] != want {
			t.Errorf("∂L/∂S[%d] = %g, want κ·(softmax − onehot)/n = %g", i, ds[i], want)
		}
	}
	// Other labels and teacher logits change nothing.
	b2 := *b
	b2.y = []int32{2, 2, 2, 2}
	a2 := tensor.New(n, k)
	ds2 := make([]float32, n*k)
	b2.rows(ds2, s.Data, a2.Data, 0, n)
	if !slices.Equal(ds, ds2) || b2.value(s, a2) != b.value(s, a) {
		t.Error("a triggered row's loss depends on its label or the teacher")
	}
	if got := b.major(); !slices.Equal(got, tr.class) {
		t.Errorf("accuracy labels %v, want the trigger classes %v", got, tr.class)
	}
}

func TestTriggers(t *testing.T) {
	o := Options{TrapdoorSeed: 7, Fill: -1, White: 1}
	const c, h, w, k = 3, 28, 28, 4
	tg, err := Triggers(o, c, h, w, k)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tg.Shape, []int{k, c, h, w}) {
		t.Fatalf("shape %v", tg.Shape)
	}
	again, _ := Triggers(o, c, h, w, k)
	if !slices.Equal(tg.Data, again.Data) {
		t.Error("the same seed gave other triggers")
	}
	o2 := o
	o2.TrapdoorSeed++
	if other, _ := Triggers(o2, c, h, w, k); slices.Equal(other.Data, tg.Data) {
		t.Error("another seed gave the same triggers")
	}
	n := c * h * w
	for i := range k {
		for j := range i {
			var d float64
			for p := range n {
				d += math.Abs(float64(tg.Data[i*n+p] - tg.Data[j*n+p]))
			}
			if d/float64(n) < 0.2 {
				t.Errorf("triggers %d and %d differ by %g per pixel on average, want clearly different patterns", i, j, d/float64(n))
			}
		}
	}
	for p, v := range tg.Data {
		if v < -1 || v > 1 {
			t.Fatalf("value %d = %g outside the pixel range [-1, 1]", p, v)
		}
	}
	// Smooth: uniform noise in [-1, 1] has E|x − x'| = 2/3 between
	// neighbours; a 7×7 grid upsampled to 28×28 spans 4.5 pixels per cell,
	// so neighbours differ by about (2/3)/4.5 ≈ 0.15. Require < 0.25.
	var diff float64
	var cnt int
	for p := range k * c {
		plane := tg.Data[p*h*w : (p+1)*h*w]
		for r := range h {
			for q := range w - 1 {
				diff += math.Abs(float64(plane[r*w+q+1] - plane[r*w+q]))
				cnt++
			}
		}
	}
	if mean := diff / float64(cnt); mean > 0.25 || mean == 0 {
		t.Errorf("mean neighbour difference %g, want 0 < it < 0.25 (noise: 0.67)", mean)
	} else {
		t.Logf("mean neighbour difference %.3g (noise: 0.67)", mean)
	}
	// Unresolved options (White 0) take [Fill, Fill + 2].
	if u, _ := Triggers(Options{TrapdoorSeed: 7, Fill: -1}, c, h, w, k); !slices.Equal(u.Data, tg.Data) {
		t.Error("White 0 should take Fill + 2")
	}
	for _, bad := range [][4]int{{0, h, w, k}, {c, 0, w, k}, {c, h, -1, k}, {c, h, w, 0}, {1 << 12, 1 << 12, 1 << 12, 1}} {
		if _, err := Triggers(o, bad[0], bad[1], bad[2], bad[3]); err == nil {
			t.Errorf("sizes %v accepted", bad)
		}
	}
}

// The erased rectangle's sides are whole pixels rounded from a real
// rectangle of area share in [0.1, 0.4] and aspect in [0.3, 3.3], so
// (eh ± ½)(ew ± ½) must bracket the area's bounds and (eh ∓ ½)/(ew ± ½)
// the aspect's; the mean share, over 20 000 draws on 32×32, lies near the
// middle of the range (measured 0.23; a rectangle that does not fit is
// redrawn, which removes some large ones).
func TestEraseBox(t *testing.T) {
	rng := rand.New(rand.NewPCG(39, 40))
	const h, w, draws = 32, 32, 20000
	area := [2]float64{0.1, 0.4}
	var sum float64
	for range draws {
		r0, c0, eh, ew, ok := eraseBox(h, w, area, rng)
		if !ok {
			t.Fatal("no rectangle fit")
		}
		fh, fw := float64(eh), float64(ew)
		if (fh-0.5)*(fw-0.5) > area[1]*h*w || (fh+0.5)*(fw+0.5) < area[0]*h*w {
			t.Fatalf("rectangle %d×%d: area outside [%g, %g] of %d×%d", eh, ew, area[0], area[1], h, w)
		}
		if (fh+0.5)/(fw-0.5) < EraseAspectMin || (fh-0.5)/(fw+0.5) > EraseAspectMax {
			t.Fatalf("rectangle %d×%d: aspect outside [%g, %g]", eh, ew, EraseAspectMin, EraseAspectMax)
		}
		if r0 < 0 || c0 < 0 || r0+eh > h || c0+ew > w {
			t.Fatalf("rectangle %d×%d at (%d, %d) outside %d×%d", eh, ew, r0, c0, h, w)
		}
		sum += fh * fw / (h * w)
	}
	if mean := sum / draws; mean < 0.2 || mean > 0.27 {
		t.Errorf("mean area share %g, want about 0.23 (in [0.2, 0.27])", mean)
	}
}

// eraseBatch erases one rectangle in every channel of a share rate of the
// images: over 4000 images the share lies within 5 standard deviations,
// 5·sqrt(p(1−p)/4000) ≈ 0.036 at p = 0.3, of the rate. The erased values
// lie in the range, the rest is untouched.
func TestEraseBatch(t *testing.T) {
	const n, c, h, w, rate = 4000, 2, 8, 8, 0.3
	x := tensor.New(n, c, h, w)
	x.Fill(5) // outside the erase range, so every erased pixel shows
	eraseBatch(x, rate, defaultEraseArea, -1, 1, rand.New(rand.NewPCG(41, 42)))
	erased := 0
	for i := range n {
		var planes [c][]bool
		for ch := range c {
			plane := x.Data[(i*c+ch)*h*w : (i*c+ch+1)*h*w]
			planes[ch] = make([]bool, h*w)
			for p, v := range plane {
				if v != 5 {
					planes[ch][p] = true
					if v < -1 || v > 1 {
						t.Fatalf("image %d: erased value %g outside [-1, 1]", i, v)
					}
				}
			}
		}
		if !slices.Equal(planes[0], planes[1]) {
			t.Fatalf("image %d: channels erased differently", i)
		}
		if cnt, box := rectangle(planes[0], h, w); cnt > 0 {
			erased++
			if cnt != box {
				t.Fatalf("image %d: %d erased pixels in a bounding box of %d, want one rectangle", i, cnt, box)
			}
		}
	}
	share := float64(erased) / n
	if math.Abs(share-rate) > 5*math.Sqrt(rate*(1-rate)/n) {
		t.Errorf("%d of %d images erased (%g), want about %g", erased, n, share, rate)
	}
	y := tensor.New(3, 1, 4, 4)
	y.Fill(5)
	eraseBatch(y, 0, defaultEraseArea, -1, 1, rand.New(rand.NewPCG(1, 1)))
	if slices.ContainsFunc(y.Data, func(v float32) bool { return v != 5 }) {
		t.Error("rate 0 erased pixels")
	}
}

// rectangle returns how many pixels of the h × w mask are set and the
// area of their bounding box.
func rectangle(mask []bool, h, w int) (count, box int) {
	r0, r1, c0, c1 := h, -1, w, -1
	for p, on := range mask {
		if on {
			count++
			r0, r1, c0, c1 = min(r0, p/w), max(r1, p/w), min(c0, p%w), max(c1, p%w)
		}
	}
	if count == 0 {
		return 0, 0
	}
	return count, (r1 - r0 + 1) * (c1 - c0 + 1)
}

// drawTrap triggers ⌊ρb⌋ or ⌊ρb⌋ + 1 distinct images, ρb on average
// (within 5 standard deviations of the mean of 4000 draws, each of
// variance at most ¼), with classes in range and each class drawn.
func TestDrawTrap(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	const b, k, rate, draws = 8, 3, 0.3, 4000
	var total float64
	seen := make([]int, k)
	for range draws {
		tr := drawTrap(b, k, rate, rng)
		if tr == nil {
			t.Fatal("no image triggered, want 2 or 3")
		}
		cnt := 0
		for _, c := range tr.class {
			if c >= 0 {
				cnt++
				if int(c) >= k {
					t.Fatalf("class %d of %d", c, k)
				}
				seen[c]++
			}
		}
		if cnt != tr.count || cnt < 2 || cnt > 3 {
			t.Fatalf("%d images triggered (count %d), want 2 or 3", cnt, tr.count)
		}
		total += float64(cnt)
	}
	if mean := total / draws; math.Abs(mean-rate*b) > 5*0.5/math.Sqrt(draws) {
		t.Errorf("mean %g images triggered, want %g", mean, rate*b)
	}
	for c, v := range seen {
		if v < int(total)/k*8/10 {
			t.Errorf("class %d triggered %d times of %g", c, v, total)
		}
	}
	if tr := drawTrap(8, k, 0, rng); tr != nil {
		t.Errorf("rate 0 triggered %v", tr.class)
	}
	if tr := drawTrap(8, k, 1, rng); tr == nil || tr.count != 8 {
		t.Error("rate 1 should trigger every image")
	}
}
