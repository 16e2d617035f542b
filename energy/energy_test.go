package energy

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
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
	// 315,334,656 MACs × 3.1 pJ.
	if math.Abs(r.ANNpJ-315334656*3.1) > 1 {
		t.Fatalf("ANN energy %g", r.ANNpJ)
	}
	if r.RatioStep != 0 || r.SNNStepPJ != 0 {
		t.Fatal("silent SNN must cost nothing and have no ratio")
	}
}

// approx compares hand-computed energies; 1e-9 relative covers the
// rounding of the few float64 products and sums involved.
func approx(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s: %g, want %g", what, got, want)
	}
}

func TestAnalogFirstLayerByHand(t *testing.T) {
	in := []Input{
		{MACs: vgg.LayerMACs{Name: "conv", MACs: 1000}, Rate: 0.9, Analog: true},
		{MACs: vgg.LayerMACs{Name: "fc", MACs: 500}, Rate: 0.1},
	}
	r := Build(in, 10, Horowitz45nm())
	// ANN 1500·4.6 = 6900. The analog conv costs 1000·4.6 = 4600 per step;
	// the FC 500·0.1·0.9 = 45 per step. Window: ×10. Once per image: the
	// conv's 4600 once plus the FC's 450 over the window.
	approx(t, "ANN", r.ANNpJ, 6900)
	approx(t, "SNN per step", r.SNNStepPJ, 4645)
	approx(t, "SNN window", r.SNNWinPJ, 46450)
	approx(t, "SNN window, analog once", r.SNNWinOncePJ, 5050)
	approx(t, "ratio once", r.RatioWinOnce, 6900.0/5050)
	if r.Layers[0].ACsStep != 0 || !r.Layers[0].Analog || r.Layers[1].Analog {
		t.Fatalf("layers %+v", r.Layers)
	}
	// Without an analog layer there is no once-per-image figure.
	if r := Compute([]vgg.LayerMACs{{MACs: 10}}, []float64{0.5}, 4, Horowitz45nm()); r.SNNWinOncePJ != 0 || r.RatioWinOnce != 0 {
		t.Fatalf("once-per-image energy %g without an analog layer", r.SNNWinOncePJ)
	}
}

// handModel is conv 4 (3×3, pad 1) on 1×4×4, pool, FC 6, 3 classes:
// MACs 1·9·4·16 = 576, 16·6 = 96 and 6·3 = 18.
func handModel(t *testing.T) *vgg.Model {
	t.Helper()
	m, err := vgg.New(vgg.Config{Name: "hand", Features: []vgg.Item{4, vgg.Pool}, Hidden: []int{6}, Classes: 3,
		InChannels: 1, InHeight: 4, InWidth: 4}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := []int64{m.MACs()[0].MACs, m.MACs()[1].MACs, m.MACs()[2].MACs}; got[0] != 576 || got[1] != 96 || got[2] != 18 {
		t.Fatalf("MACs %v", got)
	}
	return m
}

// handRun is a run of 2 images over 5 steps with hand-chosen counts.
func handRun(enc snn.Encoder) *snn.Result {
	layers := []snn.LayerStats{
		// input rate 80/(16·10) = .5, spike rate 64/(64·10) = .1, measured 2000/10 = 200 per step
		{Neurons: 64, Spikes: 64, InputSize: 16, InputEvents: 80, SynapticOps: 2000},
		// spike rate 12/(6·10) = .2, measured 360/10 = 36 per step
		{Neurons: 6, Spikes: 12, InputSize: 16, InputEvents: 30, SynapticOps: 360},
		// measured 30/10 = 3 per step
		{InputSize: 6, InputEvents: 10, SynapticOps: 30},
	}
	return &snn.Result{Layers: layers, ReadoutLayers: [][]snn.LayerStats{layers}, Readouts: []int{5}, Images: 2, Timesteps: 5, Encoder: enc}
}

func TestMeasuredOpsByHand(t *testing.T) {
	m := handModel(t)
	r := FromRun(m, handRun(snn.Poisson), Horowitz45nm())
	// Rule: 576·.5 + 96·.1 + 18·.2 = 301.2 ACs per step → ·0.9 pJ; window ×5.
	approx(t, "rule per step", r.SNNStepPJ, 301.2*0.9)
	approx(t, "rule window", r.SNNWinPJ, 301.2*0.9*5)
	// Measured: 200 + 36 + 3 = 239 ACs per step. The FC after the pool
	// performs 36, the rule says 96·.1 = 9.6: 3.75× more.
	approx(t, "measured per step", r.SNNMeasuredStepPJ, 239*0.9)
	approx(t, "measured window", r.SNNMeasuredWinPJ, 239*0.9*5)
	approx(t, "measured ratio", r.RatioMeasuredStep, 690*4.6/(239*0.9))
	approx(t, "FC measured ops", r.Layers[1].MeasuredStep, 36)
	approx(t, "FC rule ops", r.Layers[1].ACsStep, 9.6)

	// Direct input: the first layer performs its 576 MACs at 4.6 pJ every
	// step; its measured ops (200, skipping zero pixels) are MACs too.
	d := FromRun(m, handRun(snn.Direct), Horowitz45nm())
	approx(t, "direct per step", d.SNNStepPJ, 576*4.6+(9.6+3.6)*0.9)
	approx(t, "direct window", d.SNNWinPJ, 5*(576*4.6+(9.6+3.6)*0.9))
	approx(t, "direct once", d.SNNWinOncePJ, 576*4.6+5*(9.6+3.6)*0.9)
	approx(t, "direct measured per step", d.SNNMeasuredStepPJ, 200*4.6+39*0.9)
	if !d.Layers[0].Analog || d.Layers[0].InputRate != 0.5 {
		t.Fatalf("first layer %+v", d.Layers[0])
	}
}

func TestVersusTByHand(t *testing.T) {
	m := handModel(t)
	r := handRun(snn.Poisson)
	// Up to step 2 only the first layer was active: 24 input events
	// (rate 24/(16·2·2) = .375), no spikes.
	early := []snn.LayerStats{{Neurons: 64, InputSize: 16, InputEvents: 24, SynapticOps: 600}, {Neurons: 6, InputSize: 16}, {InputSize: 6}}
	r.Readouts = []int{2, 5}
	r.ReadoutLayers = [][]snn.LayerStats{early, r.Layers}
	r.Potentials = make([]*tensor.Tensor, 2)
	reps := VersusT(m, r, Horowitz45nm())
	if len(reps) != 2 || reps[0].Timesteps != 2 || reps[1].Timesteps != 5 {
		t.Fatalf("%d reports", len(reps))
	}
	approx(t, "T=2 per step", reps[0].SNNStepPJ, 576*0.375*0.9)
	approx(t, "T=2 window", reps[0].SNNWinPJ, 576*0.375*0.9*2)
	approx(t, "T=2 measured per step", reps[0].SNNMeasuredStepPJ, 600.0/4*0.9)
	approx(t, "T=5 per step", reps[1].SNNStepPJ, 301.2*0.9)
}

// TestVersusTEqualsShorterRun: the report at a readout of a long run is the
// report of a run that stops there.
func TestVersusTEqualsShorterRun(t *testing.T) {
	m := handModel(t)
	x := tensor.New(3, 1, 4, 4)
	x.RandUniform(rand.New(rand.NewPCG(2, 2)), -1, 1)
	for _, enc := range []snn.Encoder{snn.Poisson, snn.Direct} {
		cfg := snn.Config{Timesteps: 9, Leak: 1, Encoder: enc, Thresholds: []float32{0.5, 0.5}}
		long, _ := snn.New(m, cfg)
		cfg.Timesteps = 4
		short, _ := snn.New(m, cfg)
		rl, err := long.Run(context.Background(), x, rand.New(rand.NewPCG(3, 3)), snn.Options{Readouts: []int{4}})
		if err != nil {
			t.Fatal(err)
		}
		rs, _ := short.Run(context.Background(), x, rand.New(rand.NewPCG(3, 3)), snn.Options{})
		a, b := VersusT(m, rl, Rathi())[0], FromRun(m, rs, Rathi())
		if a.SNNStepPJ != b.SNNStepPJ || a.SNNMeasuredWinPJ != b.SNNMeasuredWinPJ || a.Timesteps != 4 || a.SNNStepPJ == 0 {
			t.Fatalf("%v: at readout 4 %+v, 4-step run %+v", enc, a, b)
		}
	}
}
