package data

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
)

// Augment is the augmentation FillBatch takes.
type Augment = imageset.Augment

// table is the training table the tests read.
var table = Table()

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		p    uint8
		want float32
	}{{0, -1}, {255, 1}, {51, -0.6}, {204, 0.6}} {
		if got := table[tc.p]; abs32(got-tc.want) > 1e-6 {
			t.Errorf("Table()[%d] = %v, want %v", tc.p, got, tc.want)
		}
	}
	if table[0] != -1 || table[255] != 1 {
		t.Errorf("end points not exact: %v %v", table[0], table[255])
	}
	// The training table is computed in float64 and rounded once.
	for p := range 256 {
		if want := float32((float64(p)/255 - 0.5) / 0.5); table[p] != want {
			t.Fatalf("Table()[%d] = %v, want %v", p, table[p], want)
		}
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// tiny is one 3×3 grey image with pixels 1..9 and a second image of 255s.
func tiny() *Set {
	px := []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9}
	for range 9 {
		px = append(px, 255)
	}
	return &Set{Name: "tiny", Channels: 1, Height: 3, Width: 3, Classes: 2, ClassNames: []string{"a", "b"}, Pixels: px, Labels: []int32{1, 0}}
}

// norm maps pixel rows to their normalised values (0 stands for padding).
func norm(px ...uint8) []float32 {
	out := make([]float32, len(px))
	for i, p := range px {
		out[i] = table[p]
	}
	return out
}

func TestFillBatchNoAugment(t *testing.T) {
	s := tiny()
	dst := make([]float32, 18)
	labels := make([]int32, 2)
	s.FillBatch(dst, labels, []int{1, 0}, table, Augment{CropPad: 4, HFlip: true}, nil) // nil rng: no augmentation
	want := append(norm(255, 255, 255, 255, 255, 255, 255, 255, 255), norm(1, 2, 3, 4, 5, 6, 7, 8, 9)...)
	if !slices.Equal(dst, want) || !slices.Equal(labels, []int32{0, 1}) {
		t.Errorf("dst %v labels %v", dst, labels)
	}
	if dst[0] != 1 {
		t.Errorf("255 → %v, want 1", dst[0])
	}
	s.FillBatch(dst[:9], nil, []int{0}, table, Augment{}, rand.New(rand.NewPCG(1, 2)))
	if !slices.Equal(dst[:9], norm(1, 2, 3, 4, 5, 6, 7, 8, 9)) {
		t.Errorf("zero Augment changed the image: %v", dst[:9])
	}
}

func TestCropFlip(t *testing.T) {
	s := tiny()
	src := s.Pixels[:9]
	for _, tc := range []struct {
		dy, dx int
		flip   bool
		want   []float32
	}{
		{0, 0, false, norm(1, 2, 3, 4, 5, 6, 7, 8, 9)},
		{0, 0, true, norm(3, 2, 1, 6, 5, 4, 9, 8, 7)},
		// Crop window shifted one row up and one column right: out(y,x) = src(y-1, x+1).
		{-1, 1, false, norm(0, 0, 0, 2, 3, 0, 5, 6, 0)},
		// The same crop, then mirrored.
		{-1, 1, true, norm(0, 0, 0, 0, 3, 2, 0, 6, 5)},
		{2, -2, false, norm(0, 0, 7, 0, 0, 0, 0, 0, 0)},
		{3, 0, false, norm(0, 0, 0, 0, 0, 0, 0, 0, 0)},
	} {
		out := make([]float32, 9)
		imageset.Placement{DY: tc.dy, DX: tc.dx, Flip: tc.flip}.Bytes(out, src, 1, 3, 3, table)
		if !slices.Equal(out, tc.want) {
			t.Errorf("dy=%d dx=%d flip=%v: got %v, want %v", tc.dy, tc.dx, tc.flip, out, tc.want)
		}
	}
	if norm(0)[0] != -1 {
		t.Fatal("padding must normalise to -1")
	}
}

func TestFillBatchAugmentMatchesDraws(t *testing.T) {
	s := tiny()
	aug := Augment{CropPad: 1, HFlip: true}
	rng := rand.New(rand.NewPCG(7, 8))
	ref := rand.New(rand.NewPCG(7, 8))
	dst := make([]float32, 9)
	seenShift := map[[2]int]bool{}
	flips := 0
	const trials = 2000
	for range trials {
		s.FillBatch(dst, nil, []int{0}, table, aug, rng)
		dy, dx := ref.IntN(3)-1, ref.IntN(3)-1
		flip := ref.IntN(2) == 1
		want := make([]float32, 9)
		imageset.Placement{DY: dy, DX: dx, Flip: flip}.Bytes(want, s.Pixels[:9], 1, 3, 3, table)
		if !slices.Equal(dst, want) {
			t.Fatalf("FillBatch does not follow the documented draw order")
		}
		seenShift[[2]int{dy, dx}] = true
		if flip {
			flips++
		}
	}
	if len(seenShift) != 9 {
		t.Errorf("saw %d of 9 crop offsets", len(seenShift))
	}
	if flips < trials*4/10 || flips > trials*6/10 {
		t.Errorf("%d flips in %d trials", flips, trials)
	}
}

func TestFillBatchAllocationFree(t *testing.T) {
	s := tiny()
	dst := make([]float32, 18)
	labels := make([]int32, 2)
	idx := []int{0, 1}
	rng := rand.New(rand.NewPCG(1, 1))
	allocs := testing.AllocsPerRun(100, func() {
		s.FillBatch(dst, labels, idx, table, Augment{CropPad: 1, HFlip: true}, rng)
		ShuffleInto(idx, rng)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch", allocs)
	}
}

func TestFillBatchPanicsOnBadSizes(t *testing.T) {
	s := tiny()
	for name, f := range map[string]func(){
		"dst":    func() { s.FillBatch(make([]float32, 8), nil, []int{0}, table, Augment{}, nil) },
		"labels": func() { s.FillBatch(make([]float32, 9), make([]int32, 2), []int{0}, table, Augment{}, nil) },
		"index":  func() { s.FillBatch(make([]float32, 9), nil, []int{2}, table, Augment{}, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestShuffle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := Shuffle(100, rng)
	q := slices.Clone(p)
	slices.Sort(q)
	for i, v := range q {
		if v != i {
			t.Fatalf("not a permutation: %v", p)
		}
	}
	if slices.IsSorted(p) {
		t.Error("Shuffle returned the identity")
	}
	if !slices.Equal(Shuffle(5, nil), []int{0, 1, 2, 3, 4}) {
		t.Error("nil rng should give the identity")
	}
	if !slices.Equal(p, Shuffle(100, rand.New(rand.NewPCG(3, 4)))) {
		t.Error("same seed, different order")
	}
}

func TestSubsetAndValidate(t *testing.T) {
	s := tiny()
	sub := s.Subset([]int{1, 1, 0})
	if sub.Len() != 3 || sub.Labels[2] != 1 || sub.Pixels[0] != 255 || sub.Pixels[18] != 1 {
		t.Errorf("bad subset: %+v", sub)
	}
	sub.Pixels[18] = 99
	sub.ClassNames[0] = "changed"
	if s.Pixels[0] != 1 || s.ClassNames[0] != "a" {
		t.Error("Subset shares memory with the original")
	}
	if err := sub.Validate(); err != nil {
		t.Error(err)
	}
	bad := []struct {
		name   string
		mutate func(*Set)
		want   error
	}{
		{"label", func(s *Set) { s.Labels[0] = 2 }, ErrLabel},
		{"negative label", func(s *Set) { s.Labels[0] = -1 }, ErrLabel},
		{"pixels", func(s *Set) { s.Pixels = s.Pixels[:17] }, ErrMismatch},
		{"names", func(s *Set) { s.ClassNames = nil }, ErrMismatch},
		{"shape", func(s *Set) { s.Channels = 0 }, ErrLimit},
		{"classes", func(s *Set) { s.Classes = 0 }, ErrLimit},
	}
	for _, b := range bad {
		s := tiny()
		b.mutate(s)
		checkErr(t, s.Validate(), b.want, "validate tiny")
	}
	defer func() {
		if recover() == nil {
			t.Error("Subset with a bad index did not panic")
		}
	}()
	s.Subset([]int{5})
}
