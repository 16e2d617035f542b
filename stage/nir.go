package stage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/nir"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/vgg"
)

// ExportJob writes a model as a NIR file: the export command's job.
type ExportJob struct {
	Model *Model
	// Out is the file written (atomically).
	Out string
	// Pooling is how pools are written (nir.AvgPool or nir.SumPool).
	Pooling nir.Pooling
}

// ExportResult is a finished export.
type ExportResult struct {
	Model   string         `json:"model"`
	Out     string         `json:"out"`
	Format  string         `json:"format"`
	Kind    modelfile.Kind `json:"kind"`
	Nodes   int            `json:"nodes"`
	Edges   int            `json:"edges"`
	Bytes   int64          `json:"bytes"`
	Pooling nir.Pooling    `json:"pooling"`
	// Semantics says what a reader that applies NIR's semantics alone
	// runs instead of this network, or that it runs this network.
	Semantics string `json:"semantics"`
}

// Export writes the model as a NIR graph, its spiking settings and card
// in the graph's metadata.
func Export(_ context.Context, j ExportJob, p progress.Func) (*ExportResult, error) {
	if l := j.Model.Net.Config.Levels; l > 0 {
		return nil, inputErr(RoleModel, j.Model.Path, mismatch("is a QCFS ANN (%d levels), and NIR has no quantised activation to hold its clips; "+
			"convert it and export the spiking network", l))
	}
	if err := checkNIROut(j.Out); err != nil {
		return nil, err
	}
	if err := p.Report(progress.Report{Label: "export " + j.Out}); err != nil {
		return nil, err
	}
	n, err := nirNetwork(j.Model)
	if err != nil {
		return nil, err
	}
	g, err := nir.Export(n, j.Pooling)
	if err != nil {
		return nil, err
	}
	if err := nir.Write(j.Out, g); err != nil {
		return nil, err
	}
	st, err := os.Stat(j.Out)
	if err != nil {
		return nil, err
	}
	return &ExportResult{Model: j.Model.Path, Out: j.Out, Format: "nir", Kind: j.Model.Card.Kind, Nodes: len(g.Nodes),
		Edges: len(g.Edges), Bytes: st.Size(), Pooling: j.Pooling, Semantics: NIRSemantics(n.SNN)}, nil
}

// hdf5Signature starts every HDF5 file without a user block.
var hdf5Signature = []byte("\x89HDF\r\n\x1a\n")

// checkNIROut refuses an Out that exists and is not an HDF5 file: a
// directory, or any other file (a model's weights or card among them),
// which an export must never replace.
func checkNIROut(out string) error {
	f, err := os.Open(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return inputErr(RoleOut, out, err)
	}
	defer f.Close()
	head := make([]byte, len(hdf5Signature))
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return inputErr(RoleOut, out, errors.New("is a directory; give a file path"))
	}
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, hdf5Signature) {
		return inputErr(RoleOut, out, fmt.Errorf("%s exists and is not an HDF5 file; an export replaces only an earlier export", out))
	}
	return nil
}

// NIRSemantics says whether NIR's own semantics (reset to v_reset = 0,
// zero initial membrane, the Input node fed the image) run the network c
// describes, and what differs when not.
func NIRSemantics(c *snn.Config) string {
	if c == nil {
		return "an ANN: NIR has no ReLU, the metadata says where they are"
	}
	var diff []string
	if c.Signed {
		diff = append(diff, "signed neurons (NIR's IF fires only upwards; export refuses them)")
	}
	if c.Burst > 1 {
		diff = append(diff, fmt.Sprintf("burst spikes, up to %d per step (NIR's IF fires one; export refuses them)", c.Burst))
	}
	if c.Reset == snn.ResetSubtract {
		diff = append(diff, "reset by subtraction (NIR resets to v_reset = 0)")
	}
	switch {
	case len(c.ChannelInit) > 0:
		diff = append(diff, "initial membranes set per channel by the potential correction (NIR starts at 0)")
	case c.InitMembrane != 0:
		diff = append(diff, fmt.Sprintf("an initial membrane of %g·v_threshold (NIR starts at 0)", c.InitMembrane))
	}
	if c.Encoder == snn.Poisson {
		diff = append(diff, "Poisson-encoded input (NIR has no encoder: feed the spikes)")
	}
	if c.Leak != 1 {
		diff = append(diff, fmt.Sprintf("a leak of %g per step, written as IF", c.Leak))
	}
	if len(diff) == 0 {
		return "exact: NIR's IF semantics run this network"
	}
	s := "the metadata records what NIR cannot say: "
	for i, d := range diff {
		if i > 0 {
			s += "; "
		}
		s += d
	}
	return s
}

// nirNetwork gathers what a NIR file records of a model.
func nirNetwork(m *Model) (nir.Network, error) {
	c := *m.Card
	c.Provenance.ImportedNIR = ""
	sum, err := m.WeightsSHA256()
	if err != nil {
		return nir.Network{}, inputErr(RoleModel, m.Path, err)
	}
	c.WeightsSHA256 = sum
	card, err := json.Marshal(c)
	if err != nil {
		return nir.Network{}, err
	}
	meta := nir.Meta{Normalization: c.Normalization, ClassNames: c.ClassNames, Data: c.Data, Card: card,
		WeightsSHA256: c.WeightsSHA256, TrainingDataAccessed: c.Provenance.TrainingDataAccessed}
	if r := c.Provenance.Parent; r != nil {
		meta.ParentSHA256 = r.SHA256
	}
	n := nir.Network{Model: m.Net, Meta: meta}
	if c.SNN != nil {
		cfg := c.SNN.Config
		n.SNN = &cfg
		meta.Defense = "none: converted only"
		if e := c.SNN.Encryption; e != nil {
			meta.Defense = e.Recipe
			if e.Defenses != "" {
				meta.Defense += "; " + e.Defenses
			}
		}
		n.Meta = meta
	}
	return n, nil
}

// ImportNIRJob reads a NIR file into a model directory: the import
// command's job with --format nir.
type ImportNIRJob struct {
	File string
	Out  string
	// Spiking gives the spiking settings a file's metadata lacks (T is then
	// required); Normalization, ClassNames and Data likewise.
	Spiking snn.Config
	// AsANN reads a spiking graph as the ANN of the same weights (IF
	// neurons as ReLUs), to synthesise from and distil from.
	AsANN         bool
	Normalization imageset.Normalization
	ClassNames    []string
	Data          string
	Software      string
}

// ImportNIRResult is a finished NIR import.
type ImportNIRResult struct {
	File    string         `json:"file"`
	Out     string         `json:"out"`
	Kind    modelfile.Kind `json:"kind"`
	Model   vgg.Config     `json:"model"`
	SNN     *snn.Config    `json:"snn,omitempty"`
	Pooling nir.Pooling    `json:"pooling"`
	// FromCard reports that the file carried a privatesnn card, which the
	// model keeps.
	FromCard bool     `json:"from_card"`
	Notes    []string `json:"notes,omitempty"`
}

// ImportNIR reads the NIR file and writes it as a model directory. A file
// privatesnn wrote keeps its card (marked ImportedNIR); any other file
// gets a card from the job's settings, its thresholds recorded as read
// from the file.
func ImportNIR(_ context.Context, j ImportNIRJob, p progress.Func) (*ImportNIRResult, error) {
	if err := checkModelOut(j.Out, []input{{path: j.File}}); err != nil {
		return nil, err
	}
	if err := p.Report(progress.Report{Label: "import " + j.File}); err != nil {
		return nil, err
	}
	g, err := nir.Read(j.File)
	if err != nil {
		return nil, inputErr(RoleWeights, j.File, err)
	}
	card := embeddedCard(g)
	if card != nil && card.Model.Levels > 0 {
		return nil, inputErr(RoleWeights, j.File, fmt.Errorf("its card describes a QCFS ANN (%d levels), whose clips NIR cannot hold", card.Model.Levels))
	}
	opts := nir.ImportOptions{Spiking: j.Spiking, AsANN: j.AsANN}
	if card != nil {
		opts.Base = &card.Model
	}
	im, err := nir.Import(g, opts)
	if errors.Is(err, nir.ErrNoTimesteps) {
		return nil, setting.Errorf("timesteps", nil, "required: %s records no T (privatesnn.timesteps)", j.File)
	}
	if err != nil {
		return nil, inputErr(RoleWeights, j.File, err)
	}
	fromCard := card != nil && sameKind(card, im)
	if !fromCard {
		card = newNIRCard(j, im)
	}
	card.Provenance.ImportedNIR = j.File
	if im.SNN != nil {
		card.SNN.Config = *im.SNN
	}
	if err := modelfile.Save(j.Out, im.Model, *card); err != nil {
		return nil, err
	}
	return &ImportNIRResult{File: j.File, Out: j.Out, Kind: card.Kind, Model: im.Model.Config, SNN: im.SNN, Pooling: im.Pooling,
		FromCard: fromCard, Notes: im.Notes}, nil
}

// embeddedCard returns the card a file privatesnn wrote carries, when it
// parses and validates.
func embeddedCard(g *nir.Graph) *modelfile.Card {
	m, err := nir.ReadMeta(g)
	if err != nil || m.Card == nil {
		return nil
	}
	var card modelfile.Card
	if err := json.Unmarshal(m.Card, &card); err != nil || card.Validate() != nil {
		return nil
	}
	return &card
}

// sameKind reports whether the card describes the imported network: the
// same kind and architecture.
func sameKind(c *modelfile.Card, im *nir.Imported) bool {
	return (c.SNN != nil) == (im.SNN != nil) && c.Model.Name == im.Model.Config.Name &&
		vgg.FormatFeatures(c.Model.Features) == vgg.FormatFeatures(im.Model.Config.Features)
}

// newNIRCard makes the card of a network another framework wrote.
func newNIRCard(j ImportNIRJob, im *nir.Imported) *modelfile.Card {
	c := &modelfile.Card{Normalization: j.Normalization, ClassNames: j.ClassNames, Data: j.Data,
		Provenance: modelfile.Provenance{TrainingDataAccessed: true, Imported: j.File, Software: j.Software}}
	if im.Meta.Normalization.Std > 0 {
		c.Normalization = im.Meta.Normalization
	}
	if len(im.Meta.ClassNames) == im.Model.Config.Classes {
		c.ClassNames = im.Meta.ClassNames
	}
	if im.Meta.Data != "" {
		c.Data = im.Meta.Data
	}
	if len(c.ClassNames) != im.Model.Config.Classes {
		c.ClassNames = nil
	}
	if im.SNN != nil {
		c.SNN = &modelfile.SNNSpec{Config: *im.SNN, Calibration: modelfile.Calibration{Method: modelfile.FromFile,
			Scale: 1, Source: "nir:" + j.File}}
	}
	return c
}
