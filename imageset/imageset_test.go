package imageset

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

func tableHash(t *Table) uint64 {
	h := fnv.New64a()
	var b [4]byte
	for _, v := range t {
		u := math.Float32bits(v)
		b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		h.Write(b[:])
	}
	return h.Sum64()
}

// TestTablesPinned pins both tables of the 0.5/0.5 normalisation bit for
// bit: published models were trained with the float64 one and calibrated,
// encrypted and attacked with the float32 one.
func TestTablesPinned(t *testing.T) {
	half := Normalization{Mean: 0.5, Std: 0.5}
	t64, t32 := half.Float64Table(), half.Float32Table()
	differ := 0
	for p := range 256 {
		if want := float32((float64(p)/255 - 0.5) / 0.5); math.Float32bits(t64[p]) != math.Float32bits(want) {
			t.Fatalf("Float64Table[%d] = %g, want %g", p, t64[p], want)
		}
		if want := float32(p)/float32(127.5) - 1; math.Float32bits(t32[p]) != math.Float32bits(want) {
			t.Fatalf("Float32Table[%d] = %g, want %g", p, t32[p], want)
		}
		if t64[p] != t32[p] {
			differ++
			if d := math.Abs(float64(t64[p]) - float64(t32[p])); d > 2e-7 {
				t.Errorf("byte %d: tables differ by %g", p, d)
			}
		}
	}
	if differ != 128 {
		t.Errorf("the tables differ in %d bytes, want 128", differ)
	}
	const h64, h32 = 0x8395b16d2ba2a125, 0x68583d384cfeacce
	if got := tableHash(t64); got != h64 {
		t.Errorf("Float64Table hash %#x, want %#x", got, uint64(h64))
	}
	if got := tableHash(t32); got != h32 {
		t.Errorf("Float32Table hash %#x, want %#x", got, uint64(h32))
	}
	if t64[0] != -1 || t64[255] != 1 || t32[0] != -1 || t32[255] != 1 {
		t.Errorf("ends: %g %g %g %g", t64[0], t64[255], t32[0], t32[255])
	}
}

func TestBlack(t *testing.T) {
	for _, n := range []Normalization{{0.5, 0.5}, {0, 1}, {0.2860, 0.3530}, {0.485, 0.229}, {-0.3, 0.7}, {0, 1.0 / 255}} {
		b := math.Float32bits(n.Black())
		if math.Float32bits(n.Float64Value(0)) != b || math.Float32bits(n.Float32Value(0)) != b ||
			math.Float32bits(n.Float64Table().Black()) != b || math.Float32bits(n.Float32Table().Black()) != b {
			t.Errorf("%+v: black pixels differ: %g %g %g", n, n.Black(), n.Float64Value(0), n.Float32Value(0))
		}
		if got, want := float64(n.Black()), -n.Mean/n.Std; math.Abs(got-want) > 1e-6*max(1, math.Abs(want)) {
			t.Errorf("%+v: black %g, want %g", n, got, want)
		}
	}
}

func TestNormalizationValidate(t *testing.T) {
	if err := (Normalization{0.5, 0.5}).Validate(); err != nil {
		t.Error(err)
	}
	for _, bad := range []Normalization{{0.5, 0}, {0.5, -1}, {math.NaN(), 1}, {0, math.Inf(1)}, {math.Inf(-1), 1}, {0, math.NaN()}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func tiny() *Set {
	px := make([]uint8, 2*2*3*3)
	for i := range px {
		px[i] = uint8(1 + 13*i)
	}
	return &Set{Name: "tiny", Channels: 2, Height: 3, Width: 3, Classes: 3, ClassNames: []string{"a", "b", "c"}, Pixels: px, Labels: []int32{2, 0}}
}

// TestPlacementGeometry: a crop shifts in black, a flip mirrors, and the
// byte and float paths agree.
func TestPlacementGeometry(t *testing.T) {
	s := tiny()
	tab := Normalization{0.5, 0.5}.Float64Table()
	src := s.Image(0)
	srcF := make([]float32, len(src))
	tab.Fill(srcF, src)
	for dy := -2; dy <= 2; dy++ {
		for dx := -2; dx <= 2; dx++ {
			for _, flip := range []bool{false, true} {
				p := Placement{DY: dy, DX: dx, Flip: flip}
				a, b := make([]float32, len(src)), make([]float32, len(src))
				p.Bytes(a, src, 2, 3, 3, tab)
				p.Floats(b, srcF, 2, 3, 3, tab.Black())
				for c := range 2 {
					for y := range 3 {
						for x := range 3 {
							cx := x
							if flip {
								cx = 2 - x
							}
							sy, sx := y+dy, cx+dx
							want := float32(-1)
							if sy >= 0 && sy < 3 && sx >= 0 && sx < 3 {
								want = tab[src[c*9+sy*3+sx]]
							}
							i := c*9 + y*3 + x
							if a[i] != want || b[i] != want {
								t.Fatalf("%+v pixel %d: bytes %g floats %g, want %g", p, i, a[i], b[i], want)
							}
						}
					}
				}
			}
		}
	}
}

// TestDrawOrder: dy, dx (when CropPad > 0), then the flip (when HFlip).
func TestDrawOrder(t *testing.T) {
	for _, a := range []Augment{{CropPad: 2}, {HFlip: true}, {CropPad: 1, HFlip: true}, {CropPad: -1, HFlip: true}} {
		r1, r2 := rand.New(rand.NewPCG(3, 4)), rand.New(rand.NewPCG(3, 4))
		for range 20 {
			got := a.Draw(r1)
			var want Placement
			if a.CropPad > 0 {
				want.DY = r2.IntN(2*a.CropPad+1) - a.CropPad
				want.DX = r2.IntN(2*a.CropPad+1) - a.CropPad
			}
			want.Flip = a.HFlip && r2.IntN(2) == 1
			if got != want {
				t.Fatalf("%+v: draw %+v, want %+v", a, got, want)
			}
		}
	}
}

// TestFillBatchAndTensor: FillBatch with augmentation equals normalising
// first and augmenting the tensor with the same rng; without augmentation
// it equals Tensor.
func TestFillBatchAndTensor(t *testing.T) {
	s := tiny()
	tab := Normalization{0.3, 0.4}.Float32Table()
	idx := []int{1, 0, 1}
	plain := s.Tensor(idx, tab)
	dst := make([]float32, len(idx)*s.ImageSize())
	labels := make([]int32, len(idx))
	s.FillBatch(dst, labels, idx, tab, Augment{CropPad: 3, HFlip: true}, nil)
	for i := range dst {
		if dst[i] != plain.Data[i] {
			t.Fatal("nil rng augmented")
		}
	}
	if labels[0] != 0 || labels[1] != 2 {
		t.Errorf("labels %v", labels)
	}
	aug := Augment{CropPad: 1, HFlip: true}
	s.FillBatch(dst, nil, idx, tab, aug, rand.New(rand.NewPCG(5, 6)))
	y := aug.Tensor(plain, tab.Black(), rand.New(rand.NewPCG(5, 6)))
	for i := range dst {
		if dst[i] != y.Data[i] {
			t.Fatalf("value %d: FillBatch %g, Tensor %g", i, dst[i], y.Data[i])
		}
	}
	if (Augment{}).Tensor(plain, -1, nil) != plain {
		t.Error("an inactive augmentation copied its input")
	}
	all := s.Tensor(nil, tab)
	if !tensor.SameShape(all.Shape, []int{2, 2, 3, 3}) {
		t.Errorf("shape %v", all.Shape)
	}
}

func TestFillBatchAllocationFree(t *testing.T) {
	s := tiny()
	tab := Normalization{0.5, 0.5}.Float64Table()
	dst := make([]float32, 2*s.ImageSize())
	labels := make([]int32, 2)
	idx := []int{1, 0}
	rng := rand.New(rand.NewPCG(1, 2))
	if a := testing.AllocsPerRun(100, func() {
		s.FillBatch(dst, labels, idx, tab, Augment{CropPad: 1, HFlip: true}, rng)
	}); a != 0 {
		t.Errorf("FillBatch allocates %g times per call", a)
	}
}

func TestValidateAndSubset(t *testing.T) {
	s := tiny()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	sub := s.Subset([]int{1, 1, 0})
	if sub.Len() != 3 || sub.Labels[2] != 2 || sub.Image(2)[0] != s.Image(0)[0] {
		t.Errorf("bad subset %+v", sub)
	}
	sub.Pixels[0] = 99
	if s.Pixels[18] == 99 {
		t.Error("Subset shares memory")
	}
	for name, c := range map[string]struct {
		mutate func(*Set)
		want   error
	}{
		"label":    {func(s *Set) { s.Labels[0] = 3 }, ErrLabel},
		"negative": {func(s *Set) { s.Labels[0] = -1 }, ErrLabel},
		"pixels":   {func(s *Set) { s.Pixels = s.Pixels[:5] }, ErrMismatch},
		"names":    {func(s *Set) { s.ClassNames = nil }, ErrMismatch},
		"channels": {func(s *Set) { s.Channels = 0 }, ErrLimit},
		"side":     {func(s *Set) { s.Width = MaxSide + 1 }, ErrLimit},
		"classes":  {func(s *Set) { s.Classes = 0 }, ErrLimit},
	} {
		s := tiny()
		c.mutate(s)
		if err := s.Validate(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestHasShape(t *testing.T) {
	s := tiny() // 2×3×3
	if !s.HasShape(2, 3, 3) || s.HasShape(1, 3, 3) || s.HasShape(2, 4, 3) || s.HasShape(2, 3, 4) {
		t.Error("HasShape disagrees with the set's shape")
	}
}

func TestGenericNames(t *testing.T) {
	if got := GenericNames(3); len(got) != 3 || got[0] != "0" || got[2] != "2" {
		t.Errorf("GenericNames(3) = %q", got)
	}
	if got := GenericNames(0); len(got) != 0 {
		t.Errorf("GenericNames(0) = %q", got)
	}
}

// TestAugmentJSON: Augment is written with the keys crop_pad and hflip and
// read with them or with the keys of earlier versions (CropPad, HFlip); a
// key absent keeps its value, an unknown key or a setting under both names
// is an error.
func TestAugmentJSON(t *testing.T) {
	b, err := json.Marshal(Augment{CropPad: 2, HFlip: true})
	if err != nil || string(b) != `{"crop_pad":2,"hflip":true}` {
		t.Errorf("Marshal: %s, %v", b, err)
	}
	for _, c := range []struct {
		in   string
		want Augment
	}{
		{`{"crop_pad":3,"hflip":true}`, Augment{CropPad: 3, HFlip: true}},
		{`{"CropPad":4,"HFlip":true}`, Augment{CropPad: 4, HFlip: true}},
		{`{"CropPad":0}`, Augment{CropPad: 0, HFlip: true}},
		{`{"hflip":false}`, Augment{CropPad: 1}},
		{`{}`, Augment{CropPad: 1, HFlip: true}},
	} {
		a := Augment{CropPad: 1, HFlip: true}
		if err := json.Unmarshal([]byte(c.in), &a); err != nil || a != c.want {
			t.Errorf("Unmarshal %s: %+v, %v; want %+v", c.in, a, err, c.want)
		}
	}
	for _, in := range []string{`{"crop":2}`, `{"crop_pad":2,"CropPad":2}`, `{"hflip":true,"HFlip":false}`, `{"crop_pad":"2"}`} {
		var a Augment
		if err := json.Unmarshal([]byte(in), &a); err == nil {
			t.Errorf("Unmarshal %s: no error", in)
		}
	}
}
