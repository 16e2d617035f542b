package modelfile_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/vgg"
)

// Save a model (weights + card) and load it back.
func ExampleSave() {
	dir, _ := os.MkdirTemp("", "model")
	defer os.RemoveAll(dir)
	cfg, _ := vgg.Preset("small", 1, 28, 28, 10)
	m, _ := vgg.New(cfg, rand.New(rand.NewPCG(0, 0)))
	card := modelfile.Card{Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}, Seed: 0,
		Provenance: modelfile.Provenance{Dataset: "none", Software: "example"}}
	if err := modelfile.Save(dir, m, card); err != nil {
		panic(err)
	}
	back, c, err := modelfile.Load(filepath.Join(dir, modelfile.WeightsFile))
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Kind, c.Model.Name, vgg.FormatFeatures(c.Model.Features), back.NumParams())
	// Output:
	// ann small 32,32,A,64,64,A 870176
}
