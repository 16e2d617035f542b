package stage_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// The data-free part of the pipeline on a small random network: synthesise
// class images from its weights, then convert it to a spiking network on
// them. Neither stage reads a data set.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "stage-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg, err := vgg.Spec{Preset: "small", Features: vgg.FeatureList{4, vgg.Pool}, Hidden: &vgg.Widths{8}, ConvDropout: -1, FCDropout: -1}.Config(1, 8, 8, 3)
	if err != nil {
		log.Fatal(err)
	}
	net, err := vgg.New(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		log.Fatal(err)
	}
	card := modelfile.Card{Normalization: imageset.TrainingNormalization(), ClassNames: []string{"a", "b", "c"}}
	if err := modelfile.Save(filepath.Join(dir, "ann"), net, card); err != nil {
		log.Fatal(err)
	}

	ann, err := stage.LoadModel(filepath.Join(dir, "ann"), stage.RoleModel, modelfile.KindANN)
	if err != nil {
		log.Fatal(err)
	}
	ss := synth.DefaultSettings()
	ss.PerClass, ss.Iterations = 4, 5
	sy, err := stage.Synth(ctx, stage.SynthJob{Out: filepath.Join(dir, "synth"), ANN: ann, Settings: ss}, nil)
	if err != nil {
		log.Fatal(err)
	}
	set, err := stage.LoadSynthetic(filepath.Join(dir, "synth"))
	if err != nil {
		log.Fatal(err)
	}
	cs := convert.DefaultSettings(convert.RecipePaper)
	cs.Timesteps = 16
	cv, err := stage.Convert(ctx, stage.ConvertJob{Out: filepath.Join(dir, "snn"), ANN: ann, Synth: set, Settings: cs}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sy.Images, "synthetic images")
	fmt.Printf("%d thresholds at T=%d, %s input; training data accessed: %v\n", len(cv.Thresholds), cv.Timesteps, cv.Encoder, cv.TrainingDataAccessed)
	// Output:
	// 12 synthetic images
	// 2 thresholds at T=16, poisson input; training data accessed: false
}
