package nir_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/nir"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// foreignCase is testdata/foreign_ok.json, written by scripts/nir_foreign.py.
type foreignCase struct {
	Timesteps int         `json:"timesteps"`
	Inputs    [][]float32 `json:"inputs"`
	Spikes    struct {
		N1 int64 `json:"n1"`
		N2 int64 `json:"n2"`
	} `json:"spikes"`
	Outputs [][]float32 `json:"outputs"`
}

// A graph made with NIR's own library (per-channel thresholds, per-neuron
// r, a SumPool2d, an Affine, an integrator with r = 2, no privatesnn
// metadata) imports, folded into privatesnn's network, and simulates
// exactly as NIR's semantics do in the script's own simulation. Every
// value is a dyadic fraction, so the comparison is exact.
func TestImportForeignGraph(t *testing.T) {
	g, err := nir.Read("testdata/foreign_ok.nir")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/foreign_ok.json")
	if err != nil {
		t.Fatal(err)
	}
	var want foreignCase
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	im, err := nir.Import(g, nir.ImportOptions{Spiking: snn.Config{Timesteps: want.Timesteps, Leak: 1, Reset: snn.ResetZero, Encoder: snn.Direct}})
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Notes) != 4 || im.Pooling != nir.SumPool {
		t.Errorf("notes %q, pooling %v: want 4 folds and sum pooling", im.Notes, im.Pooling)
	}
	net, err := snn.New(im.Model, *im.SNN)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(len(want.Inputs), 1, 4, 4)
	for i, in := range want.Inputs {
		copy(x.Data[i*16:], in)
	}
	res, err := net.Run(context.Background(), x, rand.New(rand.NewPCG(1, 2)), snn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Layers[0].Spikes != want.Spikes.N1 || res.Layers[1].Spikes != want.Spikes.N2 {
		t.Errorf("spikes %d, %d; NIR's semantics give %d, %d", res.Layers[0].Spikes, res.Layers[1].Spikes, want.Spikes.N1, want.Spikes.N2)
	}
	out := res.Logits()
	for i, o := range want.Outputs {
		for k, v := range o {
			if got := out.Data[i*3+k]; got != v {
				t.Errorf("image %d class %d: output %g, want %g", i, k, got, v)
			}
		}
	}
}

// Graphs privatesnn's networks cannot compute are refused, naming the node.
func TestImportForeignRefused(t *testing.T) {
	for file, want := range map[string]string{
		"testdata/foreign_lif.nir":  `node "n1" (LIF)`,
		"testdata/foreign_bias.nir": `node "c1" (Conv2d): a non-zero bias`,
	} {
		g, err := nir.Read(file)
		if err != nil {
			t.Fatal(err)
		}
		_, err = nir.Import(g, nir.ImportOptions{Spiking: snn.Config{Timesteps: 6, Leak: 1, Reset: snn.ResetZero}})
		if !errors.Is(err, nir.ErrNotSupported) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want ErrNotSupported naming %s", file, err, want)
		}
	}
}
