package dnnl

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refConv computes y, and (given dy) dx and dw, directly from the definition.
func refForward(s Shape, x, w []float32) []float32 {
	oh, ow := s.OutHW()
	y := make([]float32, s.OutC*s.N*oh*ow)
	for co := range s.OutC {
		for n := range s.N {
			for i := range oh {
				for j := range ow {
					var acc float64
					for ci := range s.InC {
						for a := range s.K {
							for b := range s.K {
								si, sj := i+a-s.Pad, j+b-s.Pad
								if si < 0 || si >= s.H || sj < 0 || sj >= s.W {
									continue
								}
								acc += float64(w[((co*s.InC+ci)*s.K+a)*s.K+b]) * float64(x[((ci*s.N+n)*s.H+si)*s.W+sj])
							}
						}
					}
					y[((co*s.N+n)*oh+i)*ow+j] = float32(acc)
				}
			}
		}
	}
	return y
}

func refBackward(s Shape, x, w, dy []float32) (dx, dw []float32) {
	oh, ow := s.OutHW()
	dxd := make([]float64, len(x))
	dwd := make([]float64, len(w))
	for co := range s.OutC {
		for n := range s.N {
			for i := range oh {
				for j := range ow {
					g := float64(dy[((co*s.N+n)*oh+i)*ow+j])
					for ci := range s.InC {
						for a := range s.K {
							for b := range s.K {
								si, sj := i+a-s.Pad, j+b-s.Pad
								if si < 0 || si >= s.H || sj < 0 || sj >= s.W {
									continue
								}
								xi := ((ci*s.N+n)*s.H+si)*s.W + sj
								wi := ((co*s.InC+ci)*s.K+a)*s.K + b
								dxd[xi] += g * float64(w[wi])
								dwd[wi] += g * float64(x[xi])
							}
						}
					}
				}
			}
		}
	}
	dx = make([]float32, len(x))
	dw = make([]float32, len(w))
	for i, v := range dxd {
		dx[i] = float32(v)
	}
	for i, v := range dwd {
		dw[i] = float32(v)
	}
	return dx, dw
}

func rnd(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*math.Max(scale, 1e-6) {
			t.Fatalf("%s[%d] = %g, want %g (scale %g)", what, i, got[i], want[i], scale)
		}
	}
}

func TestConvMatchesReference(t *testing.T) {
	if !Available() {
		t.Skip(Info())
	}
	t.Log(Info())
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range []Shape{
		{1, 32, 3, 28, 28, 3, 1}, {32, 32, 2, 14, 14, 3, 1}, {3, 5, 2, 7, 9, 3, 1}, {2, 3, 1, 5, 4, 3, 0},
		{4, 6, 3, 5, 5, 1, 0}, {17, 19, 2, 6, 7, 3, 1}, {16, 16, 1, 4, 4, 5, 2},
	} {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			c, err := NewConv(s)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			oh, ow := s.OutHW()
			x, w := rnd(rng, s.InC*s.N*s.H*s.W), rnd(rng, s.OutC*s.InC*s.K*s.K)
			dy := rnd(rng, s.OutC*s.N*oh*ow)
			y := make([]float32, len(dy))
			for range 2 { // the second pass reuses cached buffers
				if err := c.Forward(x, w, y); err != nil {
					t.Fatal(err)
				}
				closeTo(t, "y", y, refForward(s, x, w), 1e-5)
				dx, dw := make([]float32, len(x)), make([]float32, len(w))
				if err := c.Backward(x, dy, w, dx, dw, true); err != nil {
					t.Fatal(err)
				}
				rdx, rdw := refBackward(s, x, w, dy)
				closeTo(t, "dx", dx, rdx, 1e-5)
				closeTo(t, "dw", dw, rdw, 1e-5)
				dw2 := make([]float32, len(w))
				if err := c.Backward(x, dy, w, nil, dw2, false); err != nil {
					t.Fatal(err)
				}
				closeTo(t, "dw only", dw2, rdw, 1e-5)
			}
			t.Logf("impl %q", c.Impl())
		})
	}
}

func TestStatusName(t *testing.T) {
	// The values of dnnl_status_t in oneDNN 2.x's dnnl_types.h.
	for s, want := range map[int]string{
		0: "dnnl_success (0)", 1: "dnnl_out_of_memory (1)", 2: "dnnl_invalid_arguments (2)", 3: "dnnl_unimplemented (3)",
		4: "dnnl_iterator_ends (4)", 5: "dnnl_runtime_error (5)", 6: "dnnl_not_required (6)",
		7: "unknown oneDNN status 7", -1: "unknown oneDNN status -1",
	} {
		if got := statusName(s); got != want {
			t.Errorf("statusName(%d) = %q, want %q", s, got, want)
		}
	}
}

// TestErrorNamesStatus passes oneDNN a shape NewConv would reject (no input
// channels): the error names the call that failed and its status.
func TestErrorNamesStatus(t *testing.T) {
	if !Available() {
		t.Skip(Info())
	}
	s := Shape{InC: 0, OutC: 1, N: 1, H: 4, W: 4, K: 3, Pad: 1}
	c, err := newConv(s)
	if err == nil {
		c.free()
		t.Fatalf("%+v accepted", s)
	}
	prefix := "dnnl: cannot create convolution {InC:0 OutC:1 N:1 H:4 W:4 K:3 Pad:1}: dnnl_convolution_forward_desc_init: "
	named := false
	for st := 1; st < len(statusNames); st++ {
		named = named || err.Error() == prefix+statusName(st)
	}
	if !named {
		t.Fatalf("error %q, want %q and a named status", err, prefix)
	}
}
