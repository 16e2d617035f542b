package report_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/privatesnn/privatesnn/report"
)

// A report of a run with an accuracy table, an ablation and a timestep
// sweep. The numbers here are made up; a pipeline fills Data from its
// stages' results.
func ExampleWrite() {
	dir, err := os.MkdirTemp("", "report-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	d := &report.Data{
		Title: "Example run",
		Meta: report.Meta{
			Command:  "privatesnn pipeline --out runs/example",
			Software: "privatesnn dev",
			Seeds:    map[string]uint64{"synth": 1},
			Stages: []report.StageInfo{
				{Name: "synth", Dir: "runs/example/synth", Seconds: 3.2, Reads: "ANN weights"},
			},
			Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		},
		Accuracy: []report.AccuracyRow{
			{Model: "ANN", Kind: "ANN", Accuracy: 0.9198},
			{Model: "SNN", Kind: "SNN", Timesteps: 16, Accuracy: 0.9143},
		},
		Ablation: []report.AblationRow{
			{Model: "DC", Timesteps: 16, Accuracy: 0.9143},
			{Model: "DC + CET + OD", Timesteps: 16, Accuracy: 0.9150, Delta: 0.07},
		},
		AccuracyVsT: []report.Curve{
			{Model: "SNN", T: []int{4, 8, 16}, Accuracy: []float64{0.857, 0.9035, 0.923}},
		},
	}
	if err := report.Write(dir, d); err != nil {
		panic(err)
	}
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		fmt.Println(filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// figures/fig5a-accuracy-vs-timestep.png
	// report.html
	// report.md
}
