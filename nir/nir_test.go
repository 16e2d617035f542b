package nir

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/hdf5"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/vgg"
)

// testNet returns a small random network and its spiking settings.
func testNet(t *testing.T, seed uint64) (*vgg.Model, *snn.Config) {
	t.Helper()
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{4, 4, vgg.Pool, 6, vgg.Pool}, Hidden: []int{12}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8, FCDropout: 0.5}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m, &snn.Config{Timesteps: 8, Leak: 1, Reset: snn.ResetSubtract, Encoder: snn.Direct, InitMembrane: 0.5,
		Thresholds: []float32{1.5, 0.75, 2.25, 0.625}}
}

func testMeta() Meta {
	return Meta{Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}, ClassNames: []string{"a", "b", "c"}, Data: "toy",
		Card: []byte(`{"k":1}`), WeightsSHA256: "ab", ParentSHA256: "cd", Defense: "cet+od"}
}

// throughTree writes g as an HDF5 tree and reads it back.
func throughTree(t *testing.T, g *Graph) *Graph {
	t.Helper()
	tree, err := g.Tree()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(tree)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func sameWeights(t *testing.T, a, b *vgg.Model) {
	t.Helper()
	pa, pb := a.Params(), b.Params()
	if len(pa) != len(pb) {
		t.Fatalf("%d params, want %d", len(pb), len(pa))
	}
	for i := range pa {
		if !slices.Equal(pa[i].W.Data, pb[i].W.Data) {
			t.Errorf("%s differs after the round trip", pa[i].Name)
		}
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	for _, pool := range []Pooling{AvgPool, SumPool} {
		for _, spiking := range []bool{true, false} {
			m, c := testNet(t, 3)
			if !spiking {
				c = nil
			}
			g, err := Export(Network{Model: m, SNN: c, Meta: testMeta()}, pool)
			if err != nil {
				t.Fatal(err)
			}
			im, err := Import(throughTree(t, g), ImportOptions{Base: &m.Config})
			if err != nil {
				t.Fatalf("pool %v spiking %v: %v", pool, spiking, err)
			}
			sameWeights(t, m, im.Model)
			if im.Model.Config.Name != "tiny" || im.Model.Config.FCDropout != 0.5 {
				t.Errorf("config %+v: want the base's name and dropout", im.Model.Config)
			}
			if (im.SNN == nil) != !spiking {
				t.Fatalf("spiking %v, imported SNN %v", spiking, im.SNN)
			}
			if spiking && !equalConfig(*im.SNN, *c) {
				t.Errorf("spiking settings %+v, want %+v", *im.SNN, *c)
			}
			if im.Pooling != pool {
				t.Errorf("pooling %v, want %v", im.Pooling, pool)
			}
			want := testMeta()
			if string(im.Meta.Card) != string(want.Card) || im.Meta.Defense != want.Defense || im.Meta.Normalization != want.Normalization ||
				!slices.Equal(im.Meta.ClassNames, want.ClassNames) || im.Meta.ParentSHA256 != "cd" {
				t.Errorf("metadata %+v, want %+v", im.Meta, want)
			}
		}
	}
}

func equalConfig(a, b snn.Config) bool {
	return a.Timesteps == b.Timesteps && a.Leak == b.Leak && a.Reset == b.Reset && a.Encoder == b.Encoder &&
		a.InitMembrane == b.InitMembrane && slices.Equal(a.Thresholds, b.Thresholds)
}

// TestExportNodes checks the chain and the parameters NIR readers need.
func TestExportNodes(t *testing.T) {
	m, c := testNet(t, 4)
	g, err := Export(Network{Model: m, SNN: c}, SumPool)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := g.chain()
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, n := range chain {
		types = append(types, g.Nodes[n].Type)
	}
	want := "Input Conv2d IF Conv2d IF SumPool2d Conv2d IF SumPool2d Flatten Linear IF Linear I Output"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("chain %s\nwant  %s", got, want)
	}
	// The SumPool2d's 1/4 sits in the next conv's weights, exactly.
	w := g.Nodes["conv3"].Params["weight"].F32
	for i, v := range m.Convs[2].Weight.W.Data {
		if w[i] != v/4 {
			t.Fatalf("conv3 weight %d = %g, want %g/4", i, w[i], v)
		}
	}
	th := g.Nodes["if_conv2"].Params["v_threshold"]
	if !slices.Equal(th.Shape, []int{4, 8, 8}) || th.F32[100] != 0.75 {
		t.Errorf("if_conv2 v_threshold shape %v value %g, want [4 8 8] and 0.75", th.Shape, th.F32[100])
	}
	if v, _, _ := metaFloat(g.Metadata, MetaInitMembrane); v != 0.5 {
		t.Errorf("metadata initial membrane %g, want 0.5", v)
	}
}

// TestImportFoldsPerChannelThresholds: a network whose channel j has its
// incoming weights and threshold scaled by c_j spikes as the original;
// Import folds it back to one threshold per layer.
func TestImportFoldsPerChannelThresholds(t *testing.T) {
	m, c := testNet(t, 5)
	g, err := Export(Network{Model: m, SNN: c}, AvgPool)
	if err != nil {
		t.Fatal(err)
	}
	// conv1 has 4 channels of 8×8; scale channel j by 2^(j-1) (exact).
	scale := []float32{0.5, 1, 2, 4}
	w := g.Nodes["conv1"].Params["weight"].F32
	th := g.Nodes["if_conv1"].Params["v_threshold"].F32
	for j, s := range scale {
		for k := j * 9; k < (j+1)*9; k++ {
			w[k] *= s
		}
		for k := j * 64; k < (j+1)*64; k++ {
			th[k] *= s
		}
	}
	im, err := Import(g, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Notes) != 1 || !strings.Contains(im.Notes[0], "if_conv1") {
		t.Errorf("notes %q, want one fold of if_conv1", im.Notes)
	}
	// The fold picks the largest threshold, 4θ, and scales channel j by 4/s_j.
	if got := im.SNN.Thresholds[0]; got != 4*c.Thresholds[0] {
		t.Errorf("threshold %g, want %g", got, 4*c.Thresholds[0])
	}
	for i, v := range im.Model.Convs[0].Weight.W.Data {
		if want := m.Convs[0].Weight.W.Data[i] * 4; v != want {
			t.Fatalf("conv1 weight %d = %g, want %g", i, v, want)
		}
	}
}

func TestImportRefuses(t *testing.T) {
	cases := []struct {
		name, want string
		edit       func(g *Graph)
	}{
		{"bias", "non-zero bias", func(g *Graph) { g.Nodes["conv1"].Params["bias"].F32[0] = 1 }},
		{"lif", "no such layer", func(g *Graph) { g.Nodes["if_fc1"].Type = "LIF" }},
		{"kernel", "weight shape", func(g *Graph) { g.Nodes["conv1"].Params["weight"].Shape = []int{4, 1, 1, 9} }},
		{"stride", "stride", func(g *Graph) { g.Nodes["conv2"].Params["stride"].I64 = []int64{2, 2} }},
		{"reset", "v_reset", func(g *Graph) { g.Nodes["if_conv1"].Params["v_reset"].F32[3] = 0.1 }},
		{"varies", "varies within channel", func(g *Graph) { g.Nodes["if_conv1"].Params["v_threshold"].F32[3] = 9 }},
		{"branch", "several outgoing", func(g *Graph) { g.Edges = append(g.Edges, [2]string{"conv1", "output"}) }},
		{"spiking output", "spiking output", func(g *Graph) {
			g.Nodes["readout"] = &Node{Type: "IF", Params: ifParams(1, 3)}
		}},
		{"cycle", "", func(g *Graph) { g.Edges = append(g.Edges, [2]string{"output", "input"}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, c := testNet(t, 6)
			g, err := Export(Network{Model: m, SNN: c}, AvgPool)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(g)
			_, err = Import(g, ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestImportWithoutMetadata(t *testing.T) {
	m, c := testNet(t, 7)
	g, err := Export(Network{Model: m, SNN: c}, AvgPool)
	if err != nil {
		t.Fatal(err)
	}
	g.Metadata = map[string]*hdf5.Dataset{}
	if _, err := Import(g, ImportOptions{}); !errors.Is(err, ErrNoTimesteps) {
		t.Fatalf("error %v, want ErrNoTimesteps", err)
	}
	im, err := Import(g, ImportOptions{Spiking: snn.Config{Timesteps: 4, Leak: 1, Reset: snn.ResetZero, Encoder: snn.Direct}})
	if err != nil {
		t.Fatal(err)
	}
	if im.SNN.Timesteps != 4 || im.SNN.Reset != snn.ResetZero || im.SNN.InitMembrane != 0 || im.Model.Config.Name != "nir" {
		t.Errorf("imported %+v %+v: want the options' settings and the name nir", *im.SNN, im.Model.Config)
	}
	// An ANN needs the metadata to say so.
	g2, err := Export(Network{Model: m}, AvgPool)
	if err != nil {
		t.Fatal(err)
	}
	g2.Metadata = nil
	if _, err := Import(g2, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "no IF neurons") {
		t.Fatalf("error %v, want the missing-kind error", err)
	}
}

// AsANN reads a spiking graph as the ANN of the same weights.
func TestImportAsANN(t *testing.T) {
	m, c := testNet(t, 8)
	g, err := Export(Network{Model: m, SNN: c}, AvgPool)
	if err != nil {
		t.Fatal(err)
	}
	im, err := Import(g, ImportOptions{AsANN: true})
	if err != nil {
		t.Fatal(err)
	}
	if im.SNN != nil || len(im.Notes) != 1 {
		t.Fatalf("imported SNN %v, notes %q: want an ANN and one note", im.SNN, im.Notes)
	}
	sameWeights(t, m, im.Model)
}

// TestChannelInitRoundTrip: per-channel initial membranes (the potential
// correction) travel in the metadata and come back bit for bit; a missing
// layer, a wrong channel count and a non-float entry are refused.
func TestChannelInitRoundTrip(t *testing.T) {
	m, cfg := testNet(t, 3)
	var ch [][]float32
	for _, c := range m.Convs {
		ch = append(ch, make([]float32, c.OutC))
	}
	for _, l := range m.Linears[:len(m.Linears)-1] {
		ch = append(ch, make([]float32, l.Out))
	}
	for l := range ch {
		for i := range ch[l] {
			ch[l][i] = 0.5 + 0.125*float32(l) - 0.0625*float32(i)
		}
	}
	cfg.ChannelInit = ch
	g, err := Export(Network{Model: m, SNN: cfg, Meta: testMeta()}, AvgPool)
	if err != nil {
		t.Fatal(err)
	}
	im, err := Import(throughTree(t, g), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if im.SNN == nil || len(im.SNN.ChannelInit) != len(ch) {
		t.Fatalf("imported %+v, want %d layers of initial membranes", im.SNN, len(ch))
	}
	for l := range ch {
		if !slices.Equal(im.SNN.ChannelInit[l], ch[l]) {
			t.Errorf("layer %d: %v, want %v", l, im.SNN.ChannelInit[l], ch[l])
		}
	}
	last := len(ch) - 1
	for name, edit := range map[string]func(md map[string]*hdf5.Dataset){
		"missing layer": func(md map[string]*hdf5.Dataset) { delete(md, channelInitKey(0)) },
		"extra layer":   func(md map[string]*hdf5.Dataset) { md[channelInitKey(last+1)] = md[channelInitKey(last)] },
		"channels": func(md map[string]*hdf5.Dataset) {
			d := *md[channelInitKey(0)]
			d.F32, d.Shape = d.F32[1:], []int{len(d.F32) - 1}
			md[channelInitKey(0)] = &d
		},
		"strings":   func(md map[string]*hdf5.Dataset) { md[channelInitKey(0)] = str("", "0.5") },
		"bad index": func(md map[string]*hdf5.Dataset) { md[MetaChannelInit+".x"] = md[channelInitKey(0)] },
		"too large": func(md map[string]*hdf5.Dataset) {
			d := *md[channelInitKey(0)]
			d.F32 = slices.Clone(d.F32)
			d.F32[0] = 2 * snn.MaxChannelInit
			md[channelInitKey(0)] = &d
		},
	} {
		bad, err := Export(Network{Model: m, SNN: cfg, Meta: testMeta()}, AvgPool)
		if err != nil {
			t.Fatal(err)
		}
		edit(bad.Metadata)
		if _, err := Import(throughTree(t, bad), ImportOptions{}); err == nil {
			t.Errorf("%s: imported", name)
		}
	}
}

// TestExportRefusesBurst refuses a network of burst neurons, which NIR's
// IF neuron cannot run, and exports the same network with one spike per
// step.
func TestExportRefusesBurst(t *testing.T) {
	m, cfg := testNet(t, 3)
	cfg.Burst = 2
	if _, err := Export(Network{Model: m, SNN: cfg, Meta: testMeta()}, AvgPool); !errors.Is(err, ErrBurst) {
		t.Fatalf("burst network: %v, want ErrBurst", err)
	}
	cfg.Burst = 1
	if _, err := Export(Network{Model: m, SNN: cfg, Meta: testMeta()}, AvgPool); err != nil {
		t.Fatal(err)
	}
}

// TestExportRefusesSigned refuses a network of signed neurons, which NIR's
// IF neuron cannot run, and exports the same network unsigned.
func TestExportRefusesSigned(t *testing.T) {
	m, cfg := testNet(t, 3)
	cfg.Signed = true
	if _, err := Export(Network{Model: m, SNN: cfg, Meta: testMeta()}, AvgPool); !errors.Is(err, ErrSigned) {
		t.Fatalf("signed network: %v, want ErrSigned", err)
	}
	cfg.Signed = false
	if _, err := Export(Network{Model: m, SNN: cfg, Meta: testMeta()}, AvgPool); err != nil {
		t.Fatal(err)
	}
}
