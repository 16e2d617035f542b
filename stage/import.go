package stage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/train"
	"github.com/privatesnn/privatesnn/vgg"
)

// ImportSettings say what a bare PyTorch state_dict cannot: where the
// pools sit, the training-time dropout rates (for the card) and the input
// normalisation the network was trained with.
type ImportSettings struct {
	Features      vgg.FeatureList        `json:"features"`
	ConvDropout   float64                `json:"conv_dropout"`
	FCDropout     float64                `json:"fc_dropout"`
	Normalization imageset.Normalization `json:"normalization"`
}

// DefaultImportSettings returns no features (they must be given), the
// reference's dropout (conv 0, classifier 0.5) and normalisation 0.5/0.5.
func DefaultImportSettings() ImportSettings {
	return ImportSettings{FCDropout: 0.5, Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}}
}

// ImportJob brings a network trained elsewhere in as a model directory:
// the import command's and the pipeline's imported ANN.
type ImportJob struct {
	// Out is the model directory written.
	Out string
	// Weights is a state_dict saved with safetensors, or a model
	// directory (taken as it is; Settings are then unused).
	Weights  string
	Settings ImportSettings
	// Test is the data set's test split, whose image size and class names
	// the network gets and on which it is scored; Data names the set and,
	// when it is "folder", DataDir is the folder's directory, which the
	// card records.
	Test     *imageset.Set
	Data     string
	DataDir  string
	Software string
}

// ImportResult is a finished import.
type ImportResult struct {
	Weights      string     `json:"weights"`
	Out          string     `json:"out"`
	Model        vgg.Config `json:"model"`
	Params       int        `json:"params"`
	Data         string     `json:"data"`
	TestAccuracy float64    `json:"test_accuracy"`
	// PoolPositions says how the pool positions of a state_dict's features
	// list were checked, or that they could not be (the card records it);
	// for a model directory, that its card records them.
	PoolPositions string `json:"pool_positions,omitempty"`
}

// Import reads the network, checks it against the test split, scores it
// there and writes it with its card. An Out that is a file, holds another
// kind of artifact than a model, or is, holds or lies inside the weights
// is refused first.
func Import(ctx context.Context, j ImportJob, p progress.Func) (*ImportResult, error) {
	if err := checkModelOut(j.Out, []input{{path: j.Weights}}); err != nil {
		return nil, err
	}
	m, card, err := importModel(j)
	if err != nil {
		return nil, err
	}
	dir := j.DataDir
	if dir == "" {
		dir = card.DataFolder(j.Weights) // a model directory's own record
	}
	if err := card.SetDataFolder(j.Out, folderDir(card.Data, dir)); err != nil {
		return nil, err
	}
	if _, err := checkData(j.Test, RoleData, &Model{Path: j.Weights, Net: m, Card: card}, p); err != nil {
		return nil, err
	}
	if err := p.Report(progress.Report{Label: "scoring " + j.Test.Name}); err != nil {
		return nil, err
	}
	acc, err := train.Evaluate(ctx, m, j.Test, card.Normalization, 256)
	if err != nil {
		return nil, err
	}
	card.Metrics = map[string]float64{"test_accuracy": acc}
	if err := modelfile.Save(j.Out, m, *card); err != nil {
		return nil, err
	}
	pools := card.Provenance.PoolPositions
	if pools == "" {
		pools = "as its card records them"
	}
	return &ImportResult{Weights: j.Weights, Out: j.Out, Model: m.Config, Params: m.NumParams(), Data: j.Test.Name, TestAccuracy: acc,
		PoolPositions: pools}, nil
}

// importModel reads a state_dict or loads a model directory's ANN.
func importModel(j ImportJob) (*vgg.Model, *modelfile.Card, error) {
	if st, err := os.Stat(j.Weights); err == nil && st.IsDir() {
		mm, err := LoadModel(j.Weights, RoleWeights, modelfile.KindANN)
		if err != nil {
			return nil, nil, err
		}
		return mm.Net, mm.Card, nil
	}
	s := j.Settings
	var features []vgg.Item
	if len(s.Features) > 0 {
		features = s.Features
	}
	m, card, err := modelfile.ImportStateDict(j.Weights, modelfile.StateDictSpec{Features: features, Height: j.Test.Height, Width: j.Test.Width,
		ConvDropout: s.ConvDropout, FCDropout: s.FCDropout, Normalization: s.Normalization, ClassNames: j.Test.ClassNames,
		Data: j.Data, Software: j.Software})
	if errors.Is(err, modelfile.ErrNoFeatures) {
		return nil, nil, setting.Errorf("features", nil, "required: the weights of %s do not record where the pools sit (their file has no %q metadata)",
			j.Weights, modelfile.FeaturesKey)
	}
	if err != nil {
		return nil, nil, inputErr(RoleWeights, j.Weights, err)
	}
	return m, card, nil
}

// Domain names the data set whose classes a data set name holds: the
// embedded set is a Fashion-MNIST subset.
func Domain(name string) string {
	if name == "embedded" {
		return "fashion-mnist"
	}
	return name
}

// folderData is the data set name of image folders.
const folderData = "folder"

// folderDir returns dir when data names an image folder, else "".
func folderDir(data, dir string) string {
	if data != folderData {
		return ""
	}
	return dir
}

// CheckData reports, as an *InputError of role r, a data set whose
// images, class count or data set differ from what the model was trained
// on. An image folder's classes are its sub-folders' names: they are
// compared with those of a model trained on an image folder; against a
// named data set only their count is, and DataNote says so.
func CheckData(s *imageset.Set, r Role, m *Model) error {
	mc := m.Net.Config
	name, _, _ := strings.Cut(s.Name, "/")
	if s.Channels != mc.InChannels || s.Height != mc.InHeight || s.Width != mc.InWidth {
		return inputErr(r, name, mismatch("has %d×%d×%d images, %s expects %d×%d×%d", s.Channels, s.Height, s.Width,
			m.Path, mc.InChannels, mc.InHeight, mc.InWidth))
	}
	if s.Classes != mc.Classes {
		return inputErr(r, name, mismatch("has %d classes, %s predicts %d", s.Classes, m.Path, mc.Classes))
	}
	have, want := Domain(name), Domain(cardData(m.Card))
	if want != "" && have != want && have != folderData && want != folderData {
		return inputErr(r, name, &OtherDataError{Model: m.Path, Trained: want})
	}
	if have == folderData && want == folderData && len(m.Card.ClassNames) > 0 && !slices.Equal(s.ClassNames, m.Card.ClassNames) {
		return inputErr(r, name, &OtherDataError{Model: m.Path, Trained: "an image folder of classes " + classList(m.Card.ClassNames),
			Have: classList(s.ClassNames)})
	}
	return nil
}

// DataNote says what CheckData could not check, for a note: the classes of
// an image folder against those of a model trained on a named data set,
// or the other way round, when their names differ; "" when there is
// nothing to say.
func DataNote(s *imageset.Set, m *Model) string {
	name, _, _ := strings.Cut(s.Name, "/")
	have, want := Domain(name), Domain(cardData(m.Card))
	if want == "" || (have == folderData) == (want == folderData) || slices.Equal(s.ClassNames, m.Card.ClassNames) {
		return ""
	}
	if want == folderData {
		want = "an image folder"
	}
	return fmt.Sprintf("only the class count of %s is checked against %s, trained on %s: the class names differ (%s; the model's: %s), "+
		"and an image folder's are its sub-folders' names; make sure that class i is the model's class i", s.Name, m.Path, want,
		classList(s.ClassNames), classList(m.Card.ClassNames))
}

// checkData is CheckData, with DataNote's note reported to p and
// returned.
func checkData(s *imageset.Set, r Role, m *Model, p progress.Func) (string, error) {
	if err := CheckData(s, r, m); err != nil {
		return "", err
	}
	note := DataNote(s, m)
	if note == "" {
		return "", nil
	}
	return note, p.Report(progress.Report{Label: "note: " + note})
}

// classList words class names: "T-shirt/top, Trouser, Pullover, … (10)".
func classList(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, … (%d)", strings.Join(names[:3], ", "), len(names))
}

// OtherDataError is a data set of other classes than the model's: Trained
// names the set the model was trained on, Have the data's classes when
// they are worth naming.
type OtherDataError struct{ Model, Trained, Have string }

func (e *OtherDataError) Error() string {
	s := fmt.Sprintf("holds other classes: %s was trained on %s", e.Model, e.Trained)
	if e.Have != "" {
		s += "; the data's are " + e.Have
	}
	return s
}
