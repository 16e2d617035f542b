package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/train"
)

// The one adapter from progress reports to the display: events and
// finished units are lines (prefixed by their stage), counts the bar with
// the report's values.
func TestReporter(t *testing.T) {
	var b bytes.Buffer
	pr := newProgressMode(&b, false, false)
	show := pr.reporter()
	ann := show.WithStage("ann")
	for _, r := range []struct {
		f progress.Func
		r progress.Report
	}{
		{ann, progress.Report{}},
		{ann, progress.Report{Label: "resuming at epoch 2, step 1"}},
		{ann, progress.Report{Label: "epoch 2/2", Done: 3, Total: 3, Detail: &train.EpochResult{Epoch: 2, TrainLoss: 0.5, TrainAcc: 0.9,
			TestAcc: 0.8, LR: 0.05, Seconds: 1, ImagesPerSec: 100}}},
		{show, progress.Report{Label: "holding out 10 images"}},
		{show, progress.Report{Label: "layers", Done: 1, Total: 3, Detail: convert.Layer{Name: "features.0.weight", Threshold: 1.5}}},
	} {
		if err := r.f.Report(r.r); err != nil {
			t.Fatal(err)
		}
	}
	pr.last = time.Time{} // a plain bar line is due
	_ = show.Report(progress.Report{Label: "epoch 1/2", Done: 1, Total: 4,
		Values: []progress.Value{{Name: "loss", Value: 0.25}, {Name: "train_accuracy", Value: 0.5}, {Name: "kd", Value: 2e-5}}})
	want := "stage ann\n" +
		"  ann: resuming at epoch 2, step 1\n" +
		"  ann: epoch 2/2  loss 0.5000  train 90.00%  test 80.00%  lr 0.05  1.0s (100 img/s)\n" +
		"holding out 10 images\n" +
		"layer 1/3 features.0.weight      threshold 1.5000\n" +
		"epoch 1/2 1/4 loss 0.2500 train accuracy 50.00% kd 2e-05 eta "
	if got := b.String(); !strings.HasPrefix(got, want) {
		t.Fatalf("display:\n%s\nwant:\n%s", got, want)
	}
}
