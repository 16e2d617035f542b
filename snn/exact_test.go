package snn

import (
	"testing"
)

// With ExactCurrents the first layer's current is the float64 sum of exact
// products rounded once to float32, whatever the order: it equals a naive
// float64 convolution in PyTorch's layout bit for bit.
func TestExactCurrentsMatchFloat64Reference(t *testing.T) {
	n, x := tinyNet(t, false, 4)
	cfg := n.Config
	cfg.Encoder = Direct
	n, err := New(n.Model, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []float32
	run(t, n, x, Options{ExactCurrents: true, Current: func(layer int, cur []float32, steps, perStep int) {
		if layer == 0 {
			got = append(got, cur[:perStep]...)
		}
	}})
	conv := n.Model.Convs[0]
	W := conv.Weight.W.Data
	N, C, H, Wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	O, K := conv.OutC, conv.K
	if len(got) != N*H*Wd*O {
		t.Fatalf("%d currents, want %d", len(got), N*H*Wd*O)
	}
	for b := range N {
		for y := range H {
			for xx := range Wd {
				for o := range O {
					var s float64
					for c := range C {
						for a := range K {
							for d := range K {
								iy, ix := y+a-1, xx+d-1
								if iy < 0 || iy >= H || ix < 0 || ix >= Wd {
									continue
								}
								s += float64(W[((o*C+c)*K+a)*K+d]) * float64(x.Data[((b*C+c)*H+iy)*Wd+ix])
							}
						}
					}
					if g := got[((b*H+y)*Wd+xx)*O+o]; g != float32(s) {
						t.Fatalf("image %d (%d,%d) channel %d: current %g, float64 reference %g", b, y, xx, o, g, float32(s))
					}
				}
			}
		}
	}
	// The exact currents give the same spikes on either path.
	d := run(t, n, x, Options{ExactCurrents: true, Path: Dense})
	e := run(t, n, x, Options{ExactCurrents: true, Path: Events})
	for l := range d.Layers {
		if d.Layers[l].Spikes != e.Layers[l].Spikes {
			t.Fatalf("layer %d: %d and %d spikes", l, d.Layers[l].Spikes, e.Layers[l].Spikes)
		}
	}
}
