package snn

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestWithConfig: a network derived with WithConfig runs as New's network
// with the same configuration does, bit for bit, shares its weights, and
// refuses a configuration that does not fit the model (thresholds per
// spiking layer, initial membranes per channel).
func TestWithConfig(t *testing.T) {
	n, x := tinyNet(t, false, 5)
	cfg := n.Config
	cfg.InitMembrane, cfg.Encoder = 0.5, Direct
	cfg.Thresholds = slices.Clone(cfg.Thresholds)
	cfg.Thresholds[1] *= 0.8
	derived, err := n.WithConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := New(n.Model, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if &derived.stages[0] != &n.stages[0] || &fresh.stages[0] == &n.stages[0] {
		t.Fatal("WithConfig does not share the weights, or New does")
	}
	a, err := derived.Run(context.Background(), x, rand.New(rand.NewPCG(1, 2)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := fresh.Run(context.Background(), x, rand.New(rand.NewPCG(1, 2)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Logits().Data, b.Logits().Data) {
		t.Fatal("the derived network's output differs from New's")
	}
	bad := cfg
	bad.Thresholds = cfg.Thresholds[:len(cfg.Thresholds)-1]
	if _, err := n.WithConfig(bad); err == nil {
		t.Fatal("a threshold too few accepted")
	}
	bad = cfg
	bad.ChannelInit = make([][]float32, len(cfg.Thresholds))
	for l := range bad.ChannelInit {
		bad.ChannelInit[l] = []float32{0.5}
	}
	if _, err := n.WithConfig(bad); err == nil {
		t.Fatal("one initial membrane for a layer of several channels accepted")
	}
}
