package workload

import (
	"context"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

func BenchmarkTrainStepDefault64(b *testing.B) {
	s := TrainStep(DefaultNet(), 64)
	for b.Loop() {
		s.Run()
	}
	b.ReportMetric(float64(s.Batch*b.N)/b.Elapsed().Seconds(), "items/s")
}

func BenchmarkInputGradDefault64(b *testing.B) {
	s := InputGradStep(DefaultNet(), 64)
	for b.Loop() {
		s.Run()
	}
	b.ReportMetric(float64(s.Batch*b.N)/b.Elapsed().Seconds(), "items/s")
}

func BenchmarkSgemm1024(b *testing.B) {
	f := SgemmStep(1024)
	for b.Loop() {
		f()
	}
	b.ReportMetric(2*1024*1024*1024*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// TestTrainStepLearns: repeated training steps on the step's fixed batch
// lower its cross-entropy (inference mode), so the step updates the
// weights in a descent direction.
func TestTrainStepLearns(t *testing.T) {
	m := DefaultNet()
	x, labels := batchInput(m, 8)
	ce := func() float64 {
		l, _ := loss.CrossEntropy(m.Forward(x, nn.Mode{}), labels)
		return l
	}
	before := ce()
	s := TrainStep(m, 8)
	for range 30 {
		s.Run()
	}
	if after := ce(); !(after < 0.5*before) {
		t.Errorf("cross-entropy on the step's batch %.4f → %.4f after 30 steps; want it at least halved", before, after)
	}
}

// TestInputGradStep: the step leaves dΣz[n,y_n]/dx, equal to a direct
// forward and backward of the same model, nonzero, and no weight gradient.
func TestInputGradStep(t *testing.T) {
	m := DefaultNet()
	s, dx := inputGradStep(m, 4)
	m.ZeroGrad()
	s.Run()
	got := *dx
	if got == nil || got.Shape[0] != 4 {
		t.Fatalf("input gradient %v; want a batch of 4", got)
	}
	x, labels := batchInput(m, 4)
	z := m.Forward(x, nn.Mode{})
	dz := tensor.New(z.Shape...)
	for i, y := range labels {
		dz.Data[i*m.Config.Classes+int(y)] = 1
	}
	want := m.Backward(dz, nn.Grad{Input: true})
	var norm float64
	for i, v := range want.Data {
		if got.Data[i] != v {
			t.Fatalf("input gradient [%d] = %g; a direct backward gives %g", i, got.Data[i], v)
		}
		norm += float64(v) * float64(v)
	}
	if norm == 0 {
		t.Error("input gradient is all zero")
	}
	for _, p := range m.Params() {
		for _, g := range p.G.Data {
			if g != 0 {
				t.Fatalf("%s has a weight gradient after an input-only step", p.Name)
			}
		}
	}
}

// TestSgemmStep checks the benchmark's product against a float64 triple
// loop; the tolerance is float32 rounding over n = 24 products of values
// in [0, 1].
func TestSgemmStep(t *testing.T) {
	const n = 24
	f, a, b, c := sgemmStep(n)
	f()
	for i := range n {
		for j := range n {
			var want float64
			for k := range n {
				want += float64(a[i*n+k]) * float64(b[k*n+j])
			}
			if d := math.Abs(float64(c[i*n+j]) - want); d > 1e-5*want+1e-6 {
				t.Fatalf("c[%d,%d] = %g; want %g", i, j, c[i*n+j], want)
			}
		}
	}
}

// embeddedBatch returns the first n embedded Fashion-MNIST test images,
// normalised, and their labels, as privatesnn bench feeds the BPTT workload.
func embeddedBatch(n int) (*tensor.Tensor, []int32, error) {
	s, err := data.LoadEmbedded(data.Test)
	if err != nil {
		return nil, nil, err
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	x := tensor.New(n, s.Channels, s.Height, s.Width)
	labels := make([]int32, n)
	s.FillBatch(x.Data, labels, idx, data.Table(), imageset.Augment{}, nil)
	return x, labels, nil
}

// TestBPTTSpikeRates checks that BPTTThresholds keep the BPTT workload's
// network at a few percent activity in every layer (its documented
// operating point) and that a step runs and lowers nothing to NaN.
func TestBPTTSpikeRates(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 16 images for 50 steps")
	}
	net, err := BPTTNet(50)
	if err != nil {
		t.Fatal(err)
	}
	x, labels, err := embeddedBatch(16)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBPTT(net, x, labels)
	if err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rates := b.SpikeRates()
	t.Logf("spike rates %.4f, loss %.4f, tape %d KiB", rates, b.Loss, b.Last.Bytes()>>10)
	for l, r := range rates {
		if r < 0.02 || r > 0.1 {
			t.Errorf("layer %d spikes at %.4f per neuron and step, want a few percent", l, r)
		}
	}
	if math.IsNaN(b.Loss) || b.Loss <= 0 {
		t.Errorf("loss %v", b.Loss)
	}
}

func TestBPTTStepSmall(t *testing.T) {
	net, err := BPTTNet(3)
	if err != nil {
		t.Fatal(err)
	}
	x, labels, err := embeddedBatch(2)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBPTT(net, x, labels)
	w0 := append([]float32(nil), net.Model.Params()[0].W.Data...)
	s := b.Step(context.Background())
	s.Run()
	s.Run()
	if s.Batch != 2 || len(b.SpikeRates()) != 5 {
		t.Fatalf("batch %d, rates %v", s.Batch, b.SpikeRates())
	}
	changed := false
	for i, v := range net.Model.Params()[0].W.Data {
		changed = changed || v != w0[i]
	}
	if !changed {
		t.Fatal("the Adam step left conv1's weights unchanged")
	}
}

func TestMeasure(t *testing.T) {
	n := 0
	tm := Measure(func() { n++ }, 2, 3, 0)
	if tm.Runs != 3 || n != 5 || tm.Median < 0 {
		t.Fatalf("%+v after %d calls", tm, n)
	}
	// A window of a few nanoseconds is below /proc/stat's resolution.
	if tm.OtherLoad != -1 {
		t.Errorf("other load %v over a window of nanoseconds, want -1 (unknown)", tm.OtherLoad)
	}
	if runtime.GOOS == "linux" {
		tm = Measure(func() { time.Sleep(40 * time.Millisecond) }, 0, 4, 0)
		if tm.OtherLoad < 0 || tm.OtherLoad > 1 {
			t.Errorf("other load %v", tm.OtherLoad)
		}
		// ru_maxrss lags VmRSS slightly (the kernel updates its high-water
		// mark lazily), so the two are not compared.
		if PeakRSS() <= 0 || CurrentRSS() <= 0 {
			t.Errorf("rss now %d, peak %d", CurrentRSS(), PeakRSS())
		}
	}
}

// BenchmarkBPTTDefault is the BPTT training step of `privatesnn bench` (T =
// 50, batch 64); profile it with -cpuprofile.
func BenchmarkBPTTDefault(b *testing.B) {
	net, err := BPTTNet(50)
	if err != nil {
		b.Fatal(err)
	}
	x, labels, err := embeddedBatch(64)
	if err != nil {
		b.Fatal(err)
	}
	s := NewBPTT(net, x, labels).Step(context.Background())
	for b.Loop() {
		s.Run()
	}
	b.ReportMetric(float64(s.Batch*b.N)/b.Elapsed().Seconds(), "items/s")
}

// BPTTNetOf builds the neurons and input it is asked for: burst neurons
// with the first threshold divided by the burst size, signed neurons,
// direct input, and thresholds that replace the workload's.
func TestBPTTNetOf(t *testing.T) {
	net, err := BPTTNetOf(3, BPTTNeuron{Burst: 2, Signed: true, Direct: true})
	if err != nil {
		t.Fatal(err)
	}
	c, want := net.Config, BPTTThresholds()
	want[0] /= 2
	if c.Burst != 2 || !c.Signed || c.Encoder != snn.Direct || !slices.Equal(c.Thresholds, want) {
		t.Errorf("config %+v, want burst 2, signed, direct input, thresholds %v", c, want)
	}
	own := []float32{2, 1, 1, 1, 1}
	if net, err = BPTTNetOf(3, BPTTNeuron{Thresholds: own}); err != nil {
		t.Fatal(err)
	}
	if c := net.Config; c.Burst > 1 || c.Signed || c.Encoder != snn.Poisson || !slices.Equal(c.Thresholds, own) {
		t.Errorf("config %+v, want ordinary neurons, Poisson input, thresholds %v", c, own)
	}
	if _, err := BPTTNetOf(3, BPTTNeuron{Thresholds: []float32{1, 1}}); err == nil {
		t.Error("2 thresholds for 5 spiking layers: no error")
	}
}
