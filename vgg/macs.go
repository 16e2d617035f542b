package vgg

// LayerMACs is the multiply-accumulate count of one weighted layer for one
// input image.
type LayerMACs struct {
	Name string // weight name, e.g. "features.0.weight"
	Kind string // "conv" or "linear"
	MACs int64
	// Output shape per image: channels/units, height, width (1×1 for linear).
	OutC, OutH, OutW int
}

// MACs returns per-layer multiply-accumulate counts for one image: a 3×3
// conv costs Cin·9·Cout·H·W, a linear layer In·Out.
func (m *Model) MACs() []LayerMACs {
	c := m.Config
	h, w := c.InHeight, c.InWidth
	var out []LayerMACs
	ci := 0
	for _, it := range c.Features {
		if it == Pool {
			h, w = h/2, w/2
			continue
		}
		conv := m.Convs[ci]
		ci++
		out = append(out, LayerMACs{Name: conv.Weight.Name, Kind: "conv",
			MACs: int64(conv.InC) * int64(conv.K*conv.K) * int64(conv.OutC) * int64(h*w), OutC: conv.OutC, OutH: h, OutW: w})
	}
	for _, l := range m.Linears {
		out = append(out, LayerMACs{Name: l.Weight.Name, Kind: "linear", MACs: int64(l.In) * int64(l.Out), OutC: l.Out, OutH: 1, OutW: 1})
	}
	return out
}
