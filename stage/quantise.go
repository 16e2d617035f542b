package stage

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"time"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/qcfs"
	"github.com/privatesnn/privatesnn/setting"
)

// QuantiseJob fine-tunes an ANN into a QCFS ANN on its synthetic set
// (package qcfs): the quantise command's and the pipeline's stage.
type QuantiseJob struct {
	// Out is the model directory written.
	Out      string
	ANN      *Model
	Synth    *Synthetic
	Options  qcfs.Options
	Software string
}

// QuantiseResult is a finished fine-tuning.
type QuantiseResult struct {
	Levels    int          `json:"levels"`
	InitClips []float32    `json:"init_clips"`
	Clips     []float32    `json:"clips"`
	Images    int          `json:"images"`
	HeldOut   int          `json:"held_out_images"`
	Agreement float64      `json:"agreement"` // held-out agreement before training
	History   []qcfs.Epoch `json:"history,omitempty"`
	Kept      int          `json:"kept"`
	Seconds   float64      `json:"seconds"`
	Out       string       `json:"out"`
	// TrainingDataAccessed is always false: the stage reads the ANN and
	// its synthetic images only.
	TrainingDataAccessed bool `json:"training_data_accessed"`
}

// Quantise fine-tunes the ANN's copy with QCFS activations by
// distillation on the synthetic set (qcfs.Run, the images in the set's
// order shuffled by Options.Seed, the last Options.HeldOutImages held
// out) and saves it as an ANN whose
// card records its parent, levels, clips, the set and that no training
// data was accessed. Before any work it refuses an ANN that is an SNN or
// already quantised, a set made from another ANN, and an Out that is a
// file, holds another kind of artifact or is, holds or lies inside an
// input.
//
// p receives qcfs.Run's reports.
func Quantise(ctx context.Context, j QuantiseJob, p progress.Func) (*QuantiseResult, error) {
	start := time.Now()
	if j.ANN.Card.Kind != modelfile.KindANN {
		return nil, inputErr(RoleModel, j.ANN.Path, &KindError{Have: j.ANN.Card.Kind, Want: modelfile.KindANN})
	}
	if l := j.ANN.Net.Config.Levels; l != 0 {
		return nil, inputErr(RoleModel, j.ANN.Path, mismatch("is already a QCFS ANN (%d levels); quantise its parent ReLU ANN", l))
	}
	if err := j.Options.Validate(); err != nil {
		return nil, setting.Check(err)
	}
	if err := checkANNOnSet(j.Out, j.ANN, j.Synth, "quantise"); err != nil {
		return nil, err
	}
	card := j.ANN.Card
	norm := card.Normalization
	if n := j.Synth.Set.Len(); j.Options.HeldOutImages(n) >= n {
		return nil, setting.Errorf("held_out", j.Options.HeldOut, "the synthetic set %s holds %d images; hold out fewer", j.Synth.Path, n)
	}
	parent, err := modelfile.NewRef(j.Out, j.ANN.Path)
	if err != nil {
		return nil, err
	}
	digest, err := modelfile.WeightsDigest(j.ANN.Path)
	if err != nil {
		return nil, err
	}
	// The set is stored class by class: shuffled, the held-out images
	// are drawn from every class.
	order := imageset.Shuffle(j.Synth.Set.Len(), rand.New(rand.NewPCG(j.Options.Seed, 0x9e1d)))
	x := j.Synth.Set.Tensor(order, norm.Float32Table())
	res, err := qcfs.Run(ctx, j.ANN.Net, x, j.Options, norm, p)
	if err != nil {
		return nil, err
	}
	rec := res.Record
	training, err := json.Marshal(untimedRecord(rec))
	if err != nil {
		return nil, err
	}
	qc := *card
	if qc.Data == "" {
		qc.Data = cardData(card)
	}
	qc.Model = res.Model.Config
	made := "none (distilled on synthetic images)"
	if len(rec.History) == 0 {
		made = "none (clips set on synthetic images)"
	}
	qc.Provenance = modelfile.Provenance{Dataset: made, TrainingDataAccessed: false, Parent: parent, Software: j.Software}
	qc.Seed, qc.Training = j.Options.Seed, nil
	qc.Metrics = map[string]float64{"held_out_agreement_before": rec.Agreement}
	if k := rec.Kept; k > 0 {
		qc.Metrics["held_out_agreement"] = rec.History[k-1].Agreement
	} else {
		qc.Metrics["held_out_agreement"] = rec.Agreement
	}
	qc.Quantisation = &modelfile.Quantisation{Levels: rec.Levels, Clips: rec.Clips, Source: "synthetic:" + j.Synth.Path,
		ParentSHA256: digest, Epochs: len(rec.History), Kept: rec.Kept, Training: training}
	if err := qc.SetDataFolder(j.Out, card.DataFolder(j.ANN.Path)); err != nil {
		return nil, err
	}
	if err := modelfile.Save(j.Out, res.Model, qc); err != nil {
		return nil, err
	}
	return &QuantiseResult{Levels: rec.Levels, InitClips: rec.InitClips, Clips: rec.Clips, Images: rec.Images, HeldOut: rec.HeldOutImages,
		Agreement: rec.Agreement, History: rec.History, Kept: rec.Kept, Seconds: time.Since(start).Seconds(), Out: j.Out}, nil
}

// untimedRecord returns the record without its wall times, so that the
// card has the same bytes for the same seed and thread count.
func untimedRecord(r qcfs.Record) qcfs.Record {
	r.Seconds = 0
	r.History = append([]qcfs.Epoch(nil), r.History...)
	for i := range r.History {
		r.History[i].Seconds = 0
	}
	return r
}
