package pipeline_test

import (
	"fmt"

	"github.com/privatesnn/privatesnn/pipeline"
)

// A configuration with list-valued settings is a sweep: every combination
// is a point, and the points share the stages no swept setting touches.
func ExampleParseSweep() {
	s, err := pipeline.ParseSweep([]byte(`
name = "fig5b"
threads = 1
skip = ["evaluator", "evaluator2", "audit", "energy"]
[encrypt]
per_class = [10, 50]
seed = [1, 2]
ablation = false
`), true)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range s.Points {
		fmt.Println(s.Label(p))
	}
	jobs, err := s.Jobs()
	if err != nil {
		fmt.Println(err)
		return
	}
	shared := 0
	for _, j := range jobs {
		if len(j.Points) == len(s.Points) {
			shared++
		}
	}
	fmt.Printf("%d distinct stages, %d shared by every point\n", len(jobs), shared)
	// Output:
	// encrypt.per_class=10 encrypt.seed=1
	// encrypt.per_class=10 encrypt.seed=2
	// encrypt.per_class=50 encrypt.seed=1
	// encrypt.per_class=50 encrypt.seed=2
	// 17 distinct stages, 5 shared by every point
}
