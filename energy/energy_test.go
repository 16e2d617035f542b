package energy

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/vgg"
)

func TestComputeByHand(t *testing.T) {
	macs := []vgg.LayerMACs{{Name: "a", MACs: 1000}, {Name: "b", MACs: 500}}
	r := Compute(macs, []float64{0.5, 0.1}, 10, Horowitz45nm())
	// ANN: 1500·4.6; SNN per step: (1000·.5 + 500·.1)·0.9 = 495; window ×10.
	if math.Abs(r.ANNpJ-6900) > 1e-9 || math.Abs(r.SNNStepPJ-495) > 1e-9 || math.Abs(r.SNNWinPJ-4950) > 1e-9 {
		t.Fatalf("report %+v", r)
	}
	if math.Abs(r.RatioStep-6900.0/495) > 1e-12 || math.Abs(r.RatioWin-6900.0/4950) > 1e-12 {
		t.Fatalf("ratios %g %g", r.RatioStep, r.RatioWin)
	}
}

func TestVGG16ANNEnergy(t *testing.T) {
	cfg, _ := vgg.Preset("vgg16", 3, 32, 32, 10)
	m, _ := vgg.New(cfg, rand.New(rand.NewPCG(1, 1)))
	rates := make([]float64, len(m.MACs()))
	r := Compute(m.MACs(), rates, 150, Rathi())
	// 315,334,656 MACs (SPEC §1.2) × 3.1 pJ.
	if math.Abs(r.ANNpJ-315334656*3.1) > 1 {
		t.Fatalf("ANN energy %g", r.ANNpJ)
	}
	if r.RatioStep != 0 || r.SNNStepPJ != 0 {
		t.Fatal("silent SNN must cost nothing and have no ratio")
	}
}
