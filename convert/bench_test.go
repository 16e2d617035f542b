package convert_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/internal/workload"
	"github.com/privatesnn/privatesnn/tensor"
)

// BenchmarkSelectDefaultShape times a full 20-candidate Select on the
// default network shape (randomly initialised: for timing only) at T = 16
// with 512 calibration and 1,024 held-out images (uniform noise in
// [−1, 1]). Run it with -benchtime 1x; it takes minutes.
func BenchmarkSelectDefaultShape(b *testing.B) {
	m := workload.DefaultNet()
	calib, held := tensor.New(512, 1, 28, 28), tensor.New(1024, 1, 28, 28)
	calib.RandUniform(rand.New(rand.NewPCG(1, 1)), -1, 1)
	held.RandUniform(rand.New(rand.NewPCG(2, 2)), -1, 1)
	o := convert.SelectOptions{Base: convert.Defaults()}
	o.Base.Timesteps = 16
	for b.Loop() {
		r, err := convert.Select(context.Background(), m, calib, held, o, rand.New(rand.NewPCG(3, 3)))
		if err != nil {
			b.Fatal(err)
		}
		if testing.Verbose() { // the whole table (b.Log keeps only 10 lines)
			for _, c := range r.Record.Candidates {
				fmt.Printf("%-8v p%-6g init %.1f  agreement %.3f (T/2 %.3f)  %.1fs %s\n", c.Encoder, c.Percentile, c.InitMembrane,
					c.Agreement, c.AgreementHalf, c.Seconds, c.Error)
			}
		}
		b.Logf("chosen %d: %+v", r.Record.Chosen, r.Record.Candidates[r.Record.Chosen].Candidate)
		b.ReportMetric(r.Record.Seconds, "s/select")
	}
}
