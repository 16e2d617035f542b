package vgg

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSpecConfig(t *testing.T) {
	d, err := DefaultSpec().Config(1, 28, 28, 10)
	p, _ := Preset("small", 1, 28, 28, 10)
	if err != nil || !slices.Equal(d.Features, p.Features) || !slices.Equal(d.Hidden, p.Hidden) || d.ConvDropout != p.ConvDropout || d.FCDropout != p.FCDropout {
		t.Fatalf("default spec %+v (%v), preset %+v", d, err, p)
	}
	var f FeatureList
	var none, two Widths
	if f.UnmarshalText([]byte("8,A,16,A")) != nil || none.UnmarshalText([]byte("-")) != nil || two.UnmarshalText([]byte("64, 32")) != nil {
		t.Fatal("parse")
	}
	c, err := Spec{Preset: "vgg5", Features: f, Hidden: &two, ConvDropout: 0.2, FCDropout: -1}.Config(1, 28, 28, 10)
	if err != nil || c.Name != "custom" || !slices.Equal(c.Hidden, []int{64, 32}) || c.ConvDropout != 0.2 || c.FCDropout != 0.5 {
		t.Fatalf("custom %+v, %v", c, err)
	}
	if c, err = (Spec{Preset: "small", Hidden: &none, ConvDropout: -1, FCDropout: -1}).Config(1, 28, 28, 10); err != nil || c.Hidden != nil {
		t.Fatalf("no hidden layer: %+v, %v", c.Hidden, err)
	}
	if b, _ := none.MarshalText(); string(b) != "-" {
		t.Errorf("none marshals as %q", b)
	}
	for _, bad := range []string{"0", "x", "64,", "2000000"} {
		var w Widths
		if w.UnmarshalText([]byte(bad)) == nil {
			t.Errorf("widths %q: no error", bad)
		}
	}
	if _, err := (Spec{Preset: "vgg99"}).Config(1, 28, 28, 10); err == nil {
		t.Error("unknown preset: no error")
	}
}

// A clone holds the same weights in storage of its own.
func TestClone(t *testing.T) {
	c, _ := Preset("small", 1, 28, 28, 10)
	m, err := New(c, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	k, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params() {
		q := k.Params()[i]
		if !slices.Equal(p.W.Data, q.W.Data) || &p.W.Data[0] == &q.W.Data[0] {
			t.Fatalf("%s: clone not equal or shares storage", p.Name)
		}
	}
}
