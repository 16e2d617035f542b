package loss

import (
	"math"
	"testing"

	"github.com/privatesnn/privatesnn/safetensors"
	"github.com/privatesnn/privatesnn/tensor"
)

// goldenTol: the losses compute in float64 from float32 logits, PyTorch in
// float32; both agree to ~1e-6 relative, so 1e-4 of the largest magnitude
// leaves a wide margin while catching any formula error (τ factors, means).
const goldenTol = 1e-4

func TestGoldenLosses(t *testing.T) {
	f, err := safetensors.ReadFile("../testdata/torch/golden_ops.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) *tensor.Tensor {
		g, ok := f.Get(name)
		if !ok {
			t.Fatalf("golden file lacks %s", name)
		}
		return tensor.FromData(g.Data, g.Shape...)
	}
	check := func(what string, gotLoss float64, gotGrad *tensor.Tensor, prefix, gradName string) {
		t.Helper()
		want := float64(get(prefix + ".loss").Data[0])
		if math.Abs(gotLoss-want) > goldenTol*math.Abs(want) {
			t.Errorf("%s loss %g, PyTorch %g", what, gotLoss, want)
		}
		wg := get(prefix + "." + gradName)
		scale := float64(wg.MaxAbs())
		for i := range wg.Data {
			if math.Abs(float64(gotGrad.Data[i]-wg.Data[i])) > goldenTol*scale {
				t.Fatalf("%s grad[%d] %g, PyTorch %g", what, i, gotGrad.Data[i], wg.Data[i])
			}
		}
	}
	lf := get("ce.labels").Data
	labels := make([]int32, len(lf))
	for i, v := range lf {
		labels[i] = int32(v)
	}
	l, g := CrossEntropy(get("ce.z"), labels)
	check("cross entropy", l, g, "ce", "dz")
	tau := float64(get("cesoft.tau").Data[0])
	l, g = SoftCrossEntropy(get("cesoft.z"), get("cesoft.y"), tau)
	check("soft cross entropy", l, g, "cesoft", "dz")
	tau = float64(get("kd.tau").Data[0])
	l, g = Distill(get("kd.s"), get("kd.t"), tau)
	check("distillation", l, g, "kd", "ds")
}
