package stage

import (
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/synth"
)

func TestTrainingLabels(t *testing.T) {
	set := &synth.Set{Set: imageset.Set{Channels: 1, Height: 1, Width: 1, Classes: 3, ClassNames: []string{"0", "1", "2"}, Labels: []int32{0, 1, 2}, Pixels: []uint8{0, 0, 0}},
		Soft: []float32{0.2, 0.7, 0.1, 0.5, 0.2, 0.3, 0, 0.1, 0.9}}
	for source, want := range map[encrypt.Labels][]int32{encrypt.LabelsFolder: {0, 1, 2}, encrypt.LabelsTarget: {1, 0, 2}} {
		got, err := trainingLabels(set, source)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("labels %s: %v, want %v", source, got, want)
		}
	}
	if _, err := trainingLabels(set, "random"); err == nil {
		t.Error("unknown label source: no error")
	}
	set.Soft = nil
	if _, err := trainingLabels(set, encrypt.LabelsTarget); err == nil {
		t.Error("target labels of a set without soft labels: no error")
	}
}
