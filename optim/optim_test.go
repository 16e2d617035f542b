package optim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/tensor"
)

func param(name string, w, g []float32) *nn.Param {
	return &nn.Param{Name: name, W: tensor.FromData(w, len(w)), G: tensor.FromData(g, len(g))}
}

// Hand-derived expectations of PyTorch's update rules; float32 arithmetic
// keeps them within 1e-6.
const tol = 1e-6

func TestSGDMomentumWeightDecay(t *testing.T) {
	p := param("w", []float32{1, -2}, []float32{0.5, 0.5})
	o := NewSGD(0.1, 0.9, 0.01)
	o.Step([]*nn.Param{p})
	// b = g + wd·w = [0.51, 0.48]; w = w − 0.1·b
	want := []float64{1 - 0.051, -2 - 0.048}
	for i, v := range p.W.Data {
		if math.Abs(float64(v)-want[i]) > tol {
			t.Fatalf("step 1 w[%d]=%g want %g", i, v, want[i])
		}
	}
	w0 := float64(p.W.Data[0])
	o.Step([]*nn.Param{p})
	b := 0.9*0.51 + 0.5 + 0.01*w0
	if got := float64(p.W.Data[0]); math.Abs(got-(w0-0.1*b)) > tol {
		t.Fatalf("step 2 w=%g want %g", got, w0-0.1*b)
	}
}

func TestAdamFirstStepIsLR(t *testing.T) {
	// With bias correction the first Adam step moves each weight by lr·sign(g).
	for _, ams := range []bool{false, true} {
		p := param("w", []float32{1, 1}, []float32{3, -0.01})
		o := NewAdam(0.01, 0, ams)
		o.Step([]*nn.Param{p})
		if math.Abs(float64(p.W.Data[0])-0.99) > 1e-5 || math.Abs(float64(p.W.Data[1])-1.01) > 1e-5 {
			t.Fatalf("amsgrad=%v: got %v", ams, p.W.Data)
		}
	}
}

func TestAdamMinimisesQuadratic(t *testing.T) {
	p := param("w", []float32{5, -3}, []float32{0, 0})
	o := NewAdam(0.1, 0, true)
	for range 500 {
		for i, v := range p.W.Data {
			p.G.Data[i] = 2 * (v - 1)
		}
		o.Step([]*nn.Param{p})
	}
	for i, v := range p.W.Data {
		if math.Abs(float64(v)-1) > 1e-2 {
			t.Fatalf("w[%d]=%g, want 1", i, v)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	for _, mk := range []func() Optimizer{
		func() Optimizer { return NewSGD(0.1, 0.9, 1e-3) },
		func() Optimizer { return NewAdam(0.01, 1e-3, true) },
	} {
		a, b := mk(), mk()
		pa := param("w", []float32{1, 2}, []float32{0.3, -0.2})
		pb := param("w", []float32{1, 2}, []float32{0.3, -0.2})
		a.Step([]*nn.Param{pa})
		b.Step([]*nn.Param{pb})
		c := mk()
		if err := c.LoadState(a.State()); err != nil {
			t.Fatal(err)
		}
		a.Step([]*nn.Param{pa})
		c.Step([]*nn.Param{pb})
		for i := range pa.W.Data {
			if pa.W.Data[i] != pb.W.Data[i] {
				t.Fatalf("resumed optimiser diverged: %v vs %v", pa.W.Data, pb.W.Data)
			}
		}
	}
	if err := NewAdam(0.1, 0, false).LoadState(map[string]*tensor.Tensor{"x.bogus": tensor.New(1)}); err == nil {
		t.Fatal("bogus state accepted")
	}
}

func TestStepSchedule(t *testing.T) {
	s := StepSchedule{Base: 1e-2, Factor: 10, Fractions: []float64{0.4, 0.6, 0.8}, Epochs: 90}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		e    int
		want float64
	}{{0, 1e-2}, {35, 1e-2}, {36, 1e-3}, {54, 1e-4}, {72, 1e-5}, {89, 1e-5}} {
		if got := s.LR(c.e); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("epoch %d: lr %g want %g", c.e, got, c.want)
		}
	}
	// Short runs: no milestone lands on the first epoch.
	for _, c := range []struct {
		epochs int
		want   []float64
	}{
		{1, []float64{1e-2}},
		{2, []float64{1e-2, 1e-3}}, // 0.75's milestone moves past the run
		{3, []float64{1e-2, 1e-3, 1e-4}},
		{4, []float64{1e-2, 1e-2, 1e-3, 1e-4}},
	} {
		s := StepSchedule{Base: 1e-2, Factor: 10, Fractions: []float64{0.5, 0.75}, Epochs: c.epochs}
		for e, want := range c.want {
			if got := s.LR(e); math.Abs(got-want) > 1e-15 {
				t.Errorf("%d epochs: epoch %d lr %g want %g", c.epochs, e, got, want)
			}
		}
	}
	if (StepSchedule{Base: 1, Factor: 10, Fractions: []float64{0.6, 0.4}, Epochs: 5}).Validate() == nil {
		t.Error("decreasing fractions accepted")
	}
}

// TestMilestonesApart: no two milestones share an epoch; one that would
// coincide with an earlier one moves to the next epoch (the demo's 4-epoch
// encryption with fractions 0.5 and 0.7 divides at epochs 2 and 3, not
// twice at 2), and schedules whose milestones do not coincide keep
// ⌊f·E⌋ (at least 1) and their rates bit for bit.
func TestMilestonesApart(t *testing.T) {
	s := StepSchedule{Base: 1e-4, Factor: 10, Fractions: []float64{0.5, 0.7}, Epochs: 4}
	if got := s.Milestones(); !slices.Equal(got, []int{2, 3}) {
		t.Fatalf("4 epochs, fractions 0.5, 0.7: milestones %v, want [2 3]", got)
	}
	for e, want := range []float64{1e-4, 1e-4, 1e-5, 1e-6} {
		if got := s.LR(e); math.Abs(got-want) > 1e-18 {
			t.Errorf("4 epochs: epoch %d lr %g want %g", e, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var fr []float64
		for n := 1 + rng.IntN(4); len(fr) < n; {
			if f := rng.Float64(); f > 0 && (len(fr) == 0 || f > fr[len(fr)-1]) {
				fr = append(fr, f)
			}
		}
		s := StepSchedule{Base: 0.05, Factor: 10, Fractions: fr, Epochs: 1 + rng.IntN(20)}
		ms := s.Milestones()
		// The previous rule put every milestone at max(1, ⌊f·E⌋).
		old := make([]int, len(fr))
		collide := false
		for i, f := range fr {
			old[i] = max(1, int(f*float64(s.Epochs)))
			if i > 0 && ms[i] <= ms[i-1] {
				t.Fatalf("%+v: milestones %v do not increase", s, ms)
			}
			collide = collide || i > 0 && old[i] == old[i-1]
		}
		if !collide && !slices.Equal(ms, old) {
			t.Fatalf("%+v: milestones %v, were %v without a collision", s, ms, old)
		}
		for e := range s.Epochs {
			was := s.Base
			for _, m := range old {
				if e >= m {
					was /= s.Factor
				}
			}
			if !collide && s.LR(e) != was {
				t.Fatalf("%+v: epoch %d lr %g, was %g", s, e, s.LR(e), was)
			}
			if e > 0 && s.LR(e) != s.LR(e-1) && s.LR(e) != s.LR(e-1)/s.Factor {
				t.Fatalf("%+v: epoch %d lr %g after %g: more than one division", s, e, s.LR(e), s.LR(e-1))
			}
		}
	}
}
