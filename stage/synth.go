package stage

import (
	"context"
	"time"

	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// SynthJob synthesises class images from an ANN's weights alone: the synth
// command's and the pipeline's synthesis.
type SynthJob struct {
	// Out is the set directory written; Overwrite replaces an existing
	// set's own files (synth.WriteDir).
	Out       string
	Overwrite bool
	ANN       *Model
	Settings  synth.Settings
	Software  string
}

// SynthStart is the Detail of the event Synth reports before generating:
// the network and the complete options.
type SynthStart struct {
	Model   *vgg.Model
	Options synth.Options
}

// SynthResult is a finished synthesis.
type SynthResult struct {
	Images              int     `json:"images"`
	Seconds             float64 `json:"seconds"`
	SecondsPerImage     float64 `json:"seconds_per_image"`
	Iterations          int     `json:"iterations"`
	LR                  float64 `json:"lr"`
	Temperature         float64 `json:"temperature"`
	Batch               int     `json:"batch"`
	Seed                uint64  `json:"seed"`
	FolderAgreement     float64 `json:"folder_agreement"`
	SoftArgmaxAgreement float64 `json:"soft_argmax_agreement"`
	// SoftArgmaxUnquantised is the agreement before clipping and 8-bit
	// rounding (a diagnostic; the saved images are what later stages use).
	SoftArgmaxUnquantised float64   `json:"soft_argmax_agreement_unquantised"`
	PerClassFolder        []float64 `json:"per_class_folder_agreement"`
	PerClassSoftArgmax    []float64 `json:"per_class_soft_argmax_agreement"`
	Out                   string    `json:"out"`
	Model                 string    `json:"model"`
	TrainingDataAccessed  bool      `json:"training_data_accessed"`
	Backend               gemm.Info `json:"backend"`
	// Stats are the generator's statistics, per class included.
	Stats synth.Stats `json:"-"`
}

// Synth completes the options from the ANN (its normalisation and image
// size), generates the set and writes it with a manifest that names the
// ANN and its weights' digest. Before generating it refuses an Out that
// is, holds or lies inside the ANN or a model its card leads to, and one
// synth.WriteDir would refuse (synth.CheckDir). p receives a SynthStart event, then the
// generator's reports.
func Synth(ctx context.Context, j SynthJob, p progress.Func) (*SynthResult, error) {
	m, card := j.ANN.Net, j.ANN.Card
	if card.Kind != modelfile.KindANN {
		return nil, inputErr(RoleModel, j.ANN.Path, &KindError{Have: card.Kind, Want: modelfile.KindANN})
	}
	digest, err := modelfile.WeightsDigest(j.ANN.Path)
	if err != nil {
		return nil, err
	}
	o, err := j.Settings.Options(m.Config.InHeight, m.Config.InWidth, card.Normalization)
	if err != nil {
		return nil, setting.Check(err)
	}
	if err := checkOut(j.Out, modelInputs(j.ANN)); err != nil {
		return nil, err
	}
	if err := synth.CheckDir(j.Out, m.Config.Classes, o.PerClass, j.Overwrite); err != nil {
		return nil, err
	}
	if err := p.Report(progress.Report{Label: "synthesising", Detail: SynthStart{Model: m, Options: o}}); err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := synth.Generate(ctx, m, o, p)
	if err != nil {
		return nil, err
	}
	man := res.Manifest(j.ANN.Path, m.Config.Name, j.Software, card.ClassNames)
	man.ModelSHA256 = digest
	if err := synth.WriteDir(j.Out, res.Set, man, j.Overwrite); err != nil {
		return nil, err
	}
	st, secs := res.Stats, time.Since(start).Seconds()
	r := &SynthResult{Images: st.Images, Seconds: secs, SecondsPerImage: secs / float64(max(1, st.Images)),
		Iterations: o.Invert.Iterations, LR: o.Invert.LR, Temperature: o.Invert.Temperature, Batch: o.Invert.Batch, Seed: o.Seed,
		FolderAgreement: st.FolderAgreement, SoftArgmaxAgreement: st.SoftArgmaxAgreement, SoftArgmaxUnquantised: st.SoftArgmaxAgreementUnquantised,
		Out: j.Out, Model: j.ANN.Path, Backend: gemm.CurrentInfo(), Stats: st}
	for _, c := range st.PerClass {
		r.PerClassFolder = append(r.PerClassFolder, c.FolderAgreement)
		r.PerClassSoftArgmax = append(r.PerClassSoftArgmax, c.SoftArgmaxAgreement)
	}
	return r, nil
}
