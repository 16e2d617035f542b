package nir

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/hdf5"
	"github.com/privatesnn/privatesnn/snn"
)

// Metadata keys privatesnn writes in a graph's metadata group. NIR has no
// field for what they record; a reader that ignores them simulates the
// network under NIR's own semantics (see doc.go).
const (
	// MetaFormat is MetaFormatValue: the metadata below follows this
	// package's definition.
	MetaFormat = "privatesnn.format"
	// MetaKind is "snn" or "ann".
	MetaKind = "privatesnn.kind"
	// MetaTimesteps is T, the steps an image is simulated (int64).
	MetaTimesteps = "privatesnn.timesteps"
	// MetaEncoder is "direct" (the Input node receives the normalised
	// image, the same at every step) or "poisson" (it receives, per pixel
	// and step, sign(x) with probability |x|, else 0).
	MetaEncoder = "privatesnn.encoder"
	// MetaReset is "subtract" (after a spike the membrane is lowered by
	// v_threshold; v_reset is not used) or "zero" (set to v_reset = 0).
	MetaReset = "privatesnn.reset"
	// MetaInitMembrane is the membrane every IF neuron starts an image
	// with, as a fraction of its v_threshold (float64; NIR starts at 0).
	MetaInitMembrane = "privatesnn.init_membrane"
	// MetaLeak is the membrane's factor per step (float64; 1 for IF).
	MetaLeak = "privatesnn.leak"
	// MetaStep words one step of an IF neuron: privatesnn's discrete
	// update, which NIR's continuous IF equations leave to the reader.
	MetaStep = "privatesnn.step"
	// MetaReadout words how the class is read: the I node's membrane after
	// T steps (the sum of its input), its argmax.
	MetaReadout = "privatesnn.readout"
	// MetaPooling is "avg" or "sum" (SumPool2d with 1/k² folded into the
	// weights of the next layer).
	MetaPooling = "privatesnn.pooling"
	// MetaActivation words where an ANN's ReLUs are (ANN files only).
	MetaActivation = "privatesnn.activation"
	// MetaNormMean and MetaNormStd give the input: x = (p/255 − mean)/std
	// for pixels p in 0..255 (float64).
	MetaNormMean = "privatesnn.normalization_mean"
	MetaNormStd  = "privatesnn.normalization_std"
	// MetaClassNames are the class names (string array), MetaData the
	// data set the model was made for.
	MetaClassNames = "privatesnn.class_names"
	MetaData       = "privatesnn.data"
	// MetaCard is the model card the file was exported from (JSON).
	MetaCard = "privatesnn.card"
	// MetaWeightsSHA256 and MetaParentSHA256 are the hex SHA-256 digests
	// of the exported model's weights file and of its parent's.
	MetaWeightsSHA256 = "privatesnn.weights_sha256"
	MetaParentSHA256  = "privatesnn.parent_weights_sha256"
	// MetaTrainingData is "true" or "false": whether making this model
	// read a real data set after its ANN was trained.
	MetaTrainingData = "privatesnn.training_data_accessed"
	// MetaDefense words the class-encryption training and the defences
	// the weights were trained with ("none" for none).
	MetaDefense = "privatesnn.defense"
	// MetaChannelInit is the prefix of the per-channel initial membranes
	// of a network whose membranes were corrected per channel:
	// "privatesnn.channel_init.L" holds hidden spiking layer L's, one per
	// output channel, as fractions of its v_threshold (float32 arrays, L
	// from 0 with none missing; absent: every neuron starts at
	// MetaInitMembrane). NIR starts every neuron at 0.
	MetaChannelInit = "privatesnn.channel_init"
)

// MetaFormatValue is the value of MetaFormat this version writes.
const MetaFormatValue = "privatesnn.nir/v1"

// stepText words privatesnn's IF step for MetaStep.
const stepText = "each step t: v = leak·v + r·I(t); spike when v > v_threshold; then v = v − v_threshold (reset subtract) or v = v_reset (reset zero)"

// readoutText words the readout for MetaReadout.
const readoutText = "class = argmax of the I node's v after T steps, v = Σ_t r·I(t) from 0"

// activationText words an ANN's activations for MetaActivation.
const activationText = "ReLU after every Conv2d and after every Linear but the last (NIR has no ReLU primitive)"

// setMeta writes n's metadata.
func setMeta(md map[string]*hdf5.Dataset, n Network, pool Pooling) error {
	m := n.Meta
	md[MetaFormat] = str("", MetaFormatValue)
	md[MetaPooling] = str("", pool.String())
	md[MetaNormMean] = f64(m.Normalization.Mean)
	md[MetaNormStd] = f64(m.Normalization.Std)
	md[MetaTrainingData] = str("", fmt.Sprint(m.TrainingDataAccessed))
	optional := map[string]string{MetaData: m.Data, MetaCard: string(m.Card), MetaWeightsSHA256: m.WeightsSHA256,
		MetaParentSHA256: m.ParentSHA256, MetaDefense: m.Defense}
	for k, v := range optional {
		if v != "" {
			md[k] = str("", v)
		}
	}
	if len(m.ClassNames) > 0 {
		md[MetaClassNames] = &hdf5.Dataset{Kind: hdf5.String, Shape: []int{len(m.ClassNames)}, Str: m.ClassNames}
	}
	if n.SNN == nil {
		md[MetaKind] = str("", "ann")
		md[MetaActivation] = str("", activationText)
		return nil
	}
	c := n.SNN
	enc, err := c.Encoder.MarshalText()
	if err != nil {
		return err
	}
	rst, err := c.Reset.MarshalText()
	if err != nil {
		return err
	}
	md[MetaKind] = str("", "snn")
	md[MetaTimesteps] = scalarInt(c.Timesteps)
	md[MetaEncoder] = str("", string(enc))
	md[MetaReset] = str("", string(rst))
	md[MetaInitMembrane] = f64(c.InitMembrane)
	md[MetaLeak] = f64(c.Leak)
	md[MetaStep] = str("", stepText)
	md[MetaReadout] = str("", readoutText)
	for l, ci := range c.ChannelInit {
		md[channelInitKey(l)] = &hdf5.Dataset{Kind: hdf5.Float32, Shape: []int{len(ci)}, F32: slices.Clone(ci)}
	}
	return nil
}

// channelInitKey is the metadata key of layer l's per-channel initial
// membranes.
func channelInitKey(l int) string { return fmt.Sprintf("%s.%d", MetaChannelInit, l) }

// readChannelInit reads the MetaChannelInit entries: nil when there are
// none, an error when one is not a float array or a layer is missing.
func readChannelInit(md map[string]*hdf5.Dataset) ([][]float32, error) {
	var out [][]float32
	for l := 0; ; l++ {
		d := md[channelInitKey(l)]
		if d == nil {
			break
		}
		var v []float32
		switch d.Kind {
		case hdf5.Float32:
			v = slices.Clone(d.F32)
		case hdf5.Float64:
			v = make([]float32, len(d.F64))
			for i, f := range d.F64 {
				v[i] = float32(f)
			}
		}
		if len(v) == 0 || len(d.Shape) != 1 {
			return nil, fmt.Errorf("nir: metadata %s: want a non-empty float array", channelInitKey(l))
		}
		out = append(out, v)
	}
	for k := range md {
		if rest, ok := strings.CutPrefix(k, MetaChannelInit+"."); ok {
			if l, err := strconv.Atoi(rest); err != nil || l < 0 || l >= len(out) {
				return nil, fmt.Errorf("nir: metadata %s: want %s.0, .1, … with none missing", k, MetaChannelInit)
			}
		}
	}
	return out, nil
}

// f64 returns a float64 scalar.
func f64(v float64) *hdf5.Dataset { return &hdf5.Dataset{Kind: hdf5.Float64, F64: []float64{v}} }

// metaString returns the string entry key, or "" when absent.
func metaString(md map[string]*hdf5.Dataset, key string) string { return stringOf(md[key]) }

// metaFloat returns the numeric scalar entry key; ok is false when absent.
func metaFloat(md map[string]*hdf5.Dataset, key string) (v float64, ok bool, err error) {
	d := md[key]
	if d == nil {
		return 0, false, nil
	}
	switch {
	case d.Kind == hdf5.Float64 && len(d.F64) == 1:
		return d.F64[0], true, nil
	case d.Kind == hdf5.Float32 && len(d.F32) == 1:
		return float64(d.F32[0]), true, nil
	case d.Kind == hdf5.Int64 && len(d.I64) == 1:
		return float64(d.I64[0]), true, nil
	}
	return 0, false, fmt.Errorf("nir: metadata %s is not one number", key)
}

// readMeta reads what the metadata records into m, and the spiking
// settings it gives into c (fields left as they are when absent).
// It returns the file's kind ("snn", "ann" or "" when not recorded).
func readMeta(md map[string]*hdf5.Dataset, m *Meta, c *snn.Config) (string, error) {
	if f := metaString(md, MetaFormat); f != "" && f != MetaFormatValue {
		return "", fmt.Errorf("nir: metadata format %q, this version reads %q", f, MetaFormatValue)
	}
	if v, ok, err := metaFloat(md, MetaNormMean); err != nil {
		return "", err
	} else if ok {
		m.Normalization.Mean = v
	}
	if v, ok, err := metaFloat(md, MetaNormStd); err != nil {
		return "", err
	} else if ok {
		m.Normalization.Std = v
	}
	if d := md[MetaClassNames]; d != nil && d.Kind == hdf5.String {
		m.ClassNames = append([]string(nil), d.Str...)
	}
	m.Data = metaString(md, MetaData)
	m.Card = []byte(metaString(md, MetaCard))
	if len(m.Card) == 0 {
		m.Card = nil
	}
	m.WeightsSHA256, m.ParentSHA256 = metaString(md, MetaWeightsSHA256), metaString(md, MetaParentSHA256)
	m.TrainingDataAccessed = metaString(md, MetaTrainingData) == "true"
	m.Defense = metaString(md, MetaDefense)
	if err := readSpiking(md, c); err != nil {
		return "", err
	}
	kind := metaString(md, MetaKind)
	if kind != "" && kind != "snn" && kind != "ann" {
		return "", fmt.Errorf("nir: metadata %s is %q, want snn or ann", MetaKind, kind)
	}
	return kind, nil
}

// readSpiking reads T, encoder, reset, initial membranes and leak.
func readSpiking(md map[string]*hdf5.Dataset, c *snn.Config) error {
	if v, ok, err := metaFloat(md, MetaTimesteps); err != nil {
		return err
	} else if ok {
		if v != float64(int(v)) || v < 1 || v > snn.MaxTimesteps {
			return fmt.Errorf("nir: metadata %s = %g, want an integer in [1, %d]", MetaTimesteps, v, snn.MaxTimesteps)
		}
		c.Timesteps = int(v)
	}
	if s := metaString(md, MetaEncoder); s != "" {
		if err := c.Encoder.UnmarshalText([]byte(s)); err != nil {
			return fmt.Errorf("nir: metadata %s: %w", MetaEncoder, err)
		}
	}
	if s := metaString(md, MetaReset); s != "" {
		if err := c.Reset.UnmarshalText([]byte(s)); err != nil {
			return fmt.Errorf("nir: metadata %s: %w", MetaReset, err)
		}
	}
	if v, ok, err := metaFloat(md, MetaInitMembrane); err != nil {
		return err
	} else if ok {
		c.InitMembrane = v
	}
	if v, ok, err := metaFloat(md, MetaLeak); err != nil {
		return err
	} else if ok {
		c.Leak = v
	}
	ci, err := readChannelInit(md)
	if err != nil {
		return err
	}
	if ci != nil {
		c.ChannelInit = ci
	}
	return nil
}

// pooling reads MetaPooling ("" when absent).
func pooling(md map[string]*hdf5.Dataset) (Pooling, bool, error) {
	s := strings.TrimSpace(metaString(md, MetaPooling))
	if s == "" {
		return AvgPool, false, nil
	}
	var p Pooling
	err := p.UnmarshalText([]byte(s))
	return p, true, err
}

// StringMeta returns the graph's string metadata entry key ("" when absent).
func StringMeta(g *Graph, key string) string { return metaString(g.Metadata, key) }

// FloatMeta returns the graph's numeric metadata entry key (0 when absent or
// not one number).
func FloatMeta(g *Graph, key string) float64 {
	v, _, _ := metaFloat(g.Metadata, key)
	return v
}
