package pipeline

import (
	"context"
	"testing"

	"github.com/privatesnn/privatesnn/progress"
)

// earlier is a stage result that resumed interrupted runs which took 100 s.
type earlier struct {
	N int `json:"n"`
}

func (earlier) EarlierSeconds() float64 { return 100 }

// A stage that resumed interrupted runs records their time with its own
// (stage.TrainResult and stage.EncryptResult say how long they took): the
// report's stage time is the whole stage's, not the last part's.
func TestResumedStageTime(t *testing.T) {
	g := &Graph{Workdir: t.TempDir(), Stages: []Stage{{Name: "ann", Settings: map[string]int{},
		Run: func(context.Context, string, Inputs, progress.Func) (any, error) { return earlier{1}, nil }}}}
	done, err := g.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := readRecord(done[0].Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !(done[0].Seconds >= 100 && done[0].Seconds < 110) || rec.Seconds != done[0].Seconds {
		t.Fatalf("stage time %g s, recorded %g s; want the earlier 100 s and this run's", done[0].Seconds, rec.Seconds)
	}
}
