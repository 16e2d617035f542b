package leakage_test

import (
	"context"
	"fmt"

	"github.com/privatesnn/privatesnn/leakage"
	"github.com/privatesnn/privatesnn/tensor"
)

// fixedEvaluator stands in for a trained classifier: it returns the same
// logits and features for any images.
type fixedEvaluator struct{ logits, features *tensor.Tensor }

func (e fixedEvaluator) Evaluate(ctx context.Context, images *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor, error) {
	return e.logits, e.features, ctx.Err()
}

// Score four attack images aimed at classes 0, 1, 2 and 2 against the
// moments of four real images' features.
func Example() {
	ctx := context.Background()
	real := fixedEvaluator{
		logits:   tensor.New(4, 3),
		features: tensor.FromData([]float32{0, 0, 2, 0, 0, 2, 2, 2}, 4, 2),
	}
	_, ref, err := leakage.Describe(ctx, real, tensor.New(4, 1, 8, 8))
	if err != nil {
		fmt.Println(err)
		return
	}
	attack := fixedEvaluator{
		logits: tensor.FromData([]float32{
			4, 0, 0, // class 0 first: a top-1 hit
			0, 1, 2, // class 1 second: a top-3 hit
			0, 0, 3, // class 2 first
			3, 3, 0, // class 2 last, yet top-3 of three classes
		}, 4, 3),
		features: tensor.FromData([]float32{1, 1, 3, 1, 1, 3, 3, 3}, 4, 2),
	}
	s, err := leakage.ScoreImages(ctx, attack, tensor.New(4, 1, 8, 8), []int{0, 1, 2, 2}, ref)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("images %d, top-1 %.2f, top-3 %.2f, confidence %.3f\n", s.Images, s.Top1, s.Top3, s.Confidence)
	// The attack features are the real ones shifted by (1, 1): same
	// covariance, so the distance is the squared shift, 2.
	fmt.Printf("FD (evaluator features) %.6f\n", s.FD)
	// Output:
	// images 4, top-1 0.50, top-3 1.00, confidence 0.536
	// FD (evaluator features) 2.000000
}

// Compare two models attacked from the same eight starting images: the
// first recovers three images the second misses, and none the other way.
func ExamplePairedDifference() {
	first := []bool{true, true, true, false, true, false, true, true}
	second := []bool{true, false, true, false, false, false, true, false}
	d, ci, err := leakage.PairedDifference(first, second, leakage.Z95)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("difference %.3f, 95 %% interval %v\n", d, ci)
	fmt.Println("first model's hit rate 6/8:", leakage.Wilson(6, 8, leakage.Z95))
	// Eight images are too few to tell the models apart: the interval
	// contains 0.
	// Output:
	// difference 0.375, 95 % interval [-0.06, 0.65]
	// first model's hit rate 6/8: [0.41, 0.93]
}
