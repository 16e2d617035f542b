package tensor

import (
	"math/rand/v2"
	"testing"
)

func TestNewCloneReshape(t *testing.T) {
	x := New(2, 3)
	if x.Len() != 6 || len(x.Shape) != 2 {
		t.Fatalf("New: %v", x)
	}
	x.Data[4] = 7
	y := x.Clone()
	y.Data[4] = 1
	if x.Data[4] != 7 {
		t.Fatal("Clone shares data")
	}
	r := x.Reshape(3, 2)
	if r.Data[4] != 7 || !SameShape(r.Shape, []int{3, 2}) {
		t.Fatalf("Reshape %v", r)
	}
	x.Fill(-2)
	if x.MaxAbs() != 2 {
		t.Fatalf("MaxAbs %g", x.MaxAbs())
	}
	x.Zero()
	if x.MaxAbs() != 0 {
		t.Fatal("Zero")
	}
}

func TestPanicsOnMismatch(t *testing.T) {
	for name, f := range map[string]func(){
		"FromData": func() { FromData(make([]float32, 5), 2, 3) },
		"negative": func() { New(2, -1) },
		"Reshape":  func() { New(2, 3).Reshape(4, 2) },
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

func TestRandomFills(t *testing.T) {
	x := New(1000)
	x.RandUniform(rand.New(rand.NewPCG(1, 1)), -1, 1)
	if m := x.MaxAbs(); m > 1 || m < 0.9 {
		t.Fatalf("uniform max |x| %g", m)
	}
	y := New(1000)
	y.RandNormal(rand.New(rand.NewPCG(1, 1)), 0.1)
	if m := y.MaxAbs(); m > 0.6 || m == 0 { // 6σ
		t.Fatalf("normal max |x| %g", m)
	}
}

func TestArgmax(t *testing.T) {
	for _, tc := range []struct {
		v    []float32
		want int
	}{{nil, 0}, {[]float32{3}, 0}, {[]float32{1, 5, 2}, 1}, {[]float32{-1, -0.5, -2}, 1}, {[]float32{2, 7, 7, 1}, 1}} {
		if got := Argmax(tc.v); got != tc.want {
			t.Errorf("Argmax(%v) = %d, want %d (the first largest)", tc.v, got, tc.want)
		}
	}
}
