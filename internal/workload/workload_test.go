package workload

import (
	"testing"
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

func TestStepsRun(t *testing.T) {
	m := DefaultNet()
	TrainStep(m, 4).Run()
	InputGradStep(m, 4).Run()
	SgemmStep(8)()
}
