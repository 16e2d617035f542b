package stage

import (
	"context"
	"fmt"
	"os"
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
	// the network gets and on which it is scored; Data names the set.
	Test     *imageset.Set
	Data     string
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
	if err := CheckData(j.Test, RoleData, &Model{Path: j.Weights, Net: m, Card: card}); err != nil {
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
	return &ImportResult{Weights: j.Weights, Out: j.Out, Model: m.Config, Params: m.NumParams(), Data: j.Test.Name, TestAccuracy: acc}, nil
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
	if len(s.Features) == 0 {
		return nil, nil, setting.Errorf("features", nil, "required: the weights of %s do not record where the pools sit", j.Weights)
	}
	m, card, err := modelfile.ImportStateDict(j.Weights, modelfile.StateDictSpec{Features: s.Features, Height: j.Test.Height, Width: j.Test.Width,
		ConvDropout: s.ConvDropout, FCDropout: s.FCDropout, Normalization: s.Normalization, ClassNames: j.Test.ClassNames,
		Data: j.Data, Software: j.Software})
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

// folderData is the data set name of image folders, whose classes nothing
// records.
const folderData = "folder"

// CheckData reports, as an *InputError of role r, a data set whose
// images, class count or (unless either is an image folder) data set
// differ from what the model was trained on.
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
	return nil
}

// OtherDataError is a data set of other classes than the model's: Trained
// names the set the model was trained on.
type OtherDataError struct{ Model, Trained string }

func (e *OtherDataError) Error() string {
	return fmt.Sprintf("holds other classes: %s was trained on %s", e.Model, e.Trained)
}
