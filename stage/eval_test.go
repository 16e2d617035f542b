package stage_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/stage"
)

// A model compared with a baseline on the same images: against itself
// nothing differs; against its ANN the difference is the accuracies'
// difference and the discordant images' share; and the ANN evaluated
// against the SNN (scored by the other code path) gives the mirror image.
func TestEvalPaired(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	sn := tinySNN(t, dir)
	ann, err := stage.LoadModel(filepath.Join(dir, "ann"), stage.RoleANN, modelfile.KindANN)
	if err != nil {
		t.Fatal(err)
	}
	test := randomSet(300, 7)
	self, err := stage.Eval(ctx, stage.EvalJob{Model: sn, Baseline: sn, Data: test}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := self.AgainstBaseline; b == nil || b.Difference != 0 || b.OnlyModel != 0 || b.OnlyOther != 0 || b.Accuracy != self.Accuracy {
		t.Fatalf("against itself: %+v (accuracy %v)", b, self.Accuracy)
	}
	if self.AgainstANN != nil {
		t.Fatalf("an ANN comparison without an ANN: %+v", self.AgainstANN)
	}

	r, err := stage.Eval(ctx, stage.EvalJob{Model: sn, ANN: ann, Baseline: ann, Data: test}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := r.AgainstANN, r.AgainstBaseline
	if a == nil || b == nil || *a != *b {
		t.Fatalf("the ANN as ANN and as baseline: %+v and %+v", a, b)
	}
	n := float64(test.Len())
	const exact = 1e-12 // the same counts divided by the same n
	if math.Abs(a.Difference-(r.Accuracy-a.Accuracy)) > exact || math.Abs(a.Difference-float64(a.OnlyModel-a.OnlyOther)/n) > exact {
		t.Errorf("difference %v, accuracies %v − %v, discordant %d and %d of %v", a.Difference, r.Accuracy, a.Accuracy, a.OnlyModel, a.OnlyOther, n)
	}
	if a.CI95.Lo > a.Difference || a.CI95.Hi < a.Difference || a.CI95.Lo < -1 || a.CI95.Hi > 1 {
		t.Errorf("interval %+v around %v", a.CI95, a.Difference)
	}

	t.Logf("SNN %v, ANN %v, discordant %d/%d", r.Accuracy, a.Accuracy, a.OnlyModel, a.OnlyOther)
	mirror, err := stage.Eval(ctx, stage.EvalJob{Model: ann, Baseline: sn, Data: test}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := mirror.AgainstBaseline
	if m == nil || m.OnlyModel != a.OnlyOther || m.OnlyOther != a.OnlyModel || m.Accuracy != r.Accuracy || mirror.Accuracy != a.Accuracy ||
		math.Abs(m.Difference+a.Difference) > exact || math.Abs(m.CI95.Lo+a.CI95.Hi) > 1e-9 || math.Abs(m.CI95.Hi+a.CI95.Lo) > 1e-9 {
		t.Errorf("ANN against the SNN %+v, SNN against the ANN %+v", m, a)
	}
}
