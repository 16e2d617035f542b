package stage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/train"
	"github.com/privatesnn/privatesnn/vgg"
)

// trainJob is a 2-epoch training of a tiny network on 64 random 1×8×8
// images, 8 steps an epoch, into out.
func trainJob(out string) stage.TrainJob {
	s := stage.DefaultTrainSettings()
	s.Features, s.Hidden = vgg.FeatureList{4, vgg.Pool}, &vgg.Widths{8}
	s.Epochs, s.BatchSize = 2, 8
	return stage.TrainJob{Out: out, Train: randomSet(64, 4), Test: randomSet(30, 3), Data: "random", Settings: s, Software: "test"}
}

// A training interrupted in the middle of an epoch refuses to resume with
// other data, another architecture or other options, naming the recorded
// ones; resumed with the same, it ends with the uninterrupted run's files
// byte for byte (its card's history sums up the whole interrupted epoch)
// and counts the interrupted part's time.
func TestTrainResume(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	ref, err := stage.Train(ctx, trainJob(filepath.Join(dir, "ref")), nil)
	if err != nil {
		t.Fatal(err)
	}
	j := trainJob(filepath.Join(dir, "run"))
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	steps := 0
	stop := func(r progress.Report) error {
		if r.Detail == nil && !r.Event() {
			if steps++; steps == 11 { // step 3 of epoch 2
				cancel()
			}
		}
		return nil
	}
	if _, err := stage.Train(cctx, j, stop); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	ck, err := os.ReadFile(filepath.Join(j.Out, modelfile.CheckpointState))
	if err != nil {
		t.Fatal(err)
	}
	j.Resume = true
	for name, c := range map[string]struct {
		change func(*stage.TrainJob)
		want   string
	}{
		"limit":    {func(j *stage.TrainJob) { j.Train = randomSet(48, 4) }, "(train_images 64, images_sha256 "},
		"contents": {func(j *stage.TrainJob) { j.Train = randomSet(64, 5) }, "(images_sha256 "},
		"name":     {func(j *stage.TrainJob) { j.Data = "other" }, `(data "random")`},
		"arch":     {func(j *stage.TrainJob) { j.Settings.Features = vgg.FeatureList{8, vgg.Pool} }, `(features "4,A")`},
		"options":  {func(j *stage.TrainJob) { j.Settings.LR, j.Settings.Seed = 0.5, 3 }, "(lr 0.05, seed 0)"},
	} {
		jj := j
		c.change(&jj)
		_, err := stage.Train(ctx, jj, nil)
		if !errors.Is(err, stage.ErrSettingsChanged) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("resumed with another %s: %v, want %q", name, err, c.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(j.Out, modelfile.CheckpointState)); !bytes.Equal(b, ck) {
		t.Fatal("a refused resume changed the checkpoint")
	}
	j.Epochs = 2 // as --epochs 2: the recorded count
	res, err := stage.Train(ctx, j, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{modelfile.CardFile, modelfile.WeightsFile} {
		a, _ := os.ReadFile(filepath.Join(ref.Model, f))
		b, _ := os.ReadFile(filepath.Join(res.Model, f))
		if !bytes.Equal(a, b) {
			t.Errorf("resumed run's %s differs from the uninterrupted run's:\n%s\n%s", f, a, b)
		}
	}
	if !(res.EarlierSeconds() > 0) || res.Seconds < res.EarlierSeconds() || res.History[1].Seconds <= 0 {
		t.Errorf("resumed run took %g s, %g s of them before the resume; epoch 2 %g s", res.Seconds, res.EarlierSeconds(), res.History[1].Seconds)
	}
	if ref.EarlierSeconds() != 0 {
		t.Errorf("an uninterrupted run had %g s before it", ref.EarlierSeconds())
	}
}

// A checkpoint of a version that kept only the options resumes with the
// same settings, and still refuses another data set name or options.
func TestTrainResumeOldCheckpoint(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	j := trainJob(filepath.Join(dir, "run"))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := stage.Train(cctx, j, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	path := filepath.Join(j.Out, modelfile.CheckpointState)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ck map[string]json.RawMessage
	var rec struct {
		Options train.Options `json:"options"`
	}
	if err := json.Unmarshal(b, &ck); err != nil || json.Unmarshal(ck["options"], &rec) != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	ck["options"], _ = json.Marshal(rec.Options)
	b, _ = json.Marshal(ck)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	j.Resume = true
	other := j
	other.Data = "other"
	if _, err := stage.Train(ctx, other, nil); !errors.Is(err, stage.ErrSettingsChanged) || !strings.Contains(err.Error(), `(data "random")`) {
		t.Errorf("old checkpoint resumed on other data: %v", err)
	}
	other = j
	other.Settings.BatchSize = 4
	if _, err := stage.Train(ctx, other, nil); !errors.Is(err, stage.ErrSettingsChanged) || !strings.Contains(err.Error(), "(batch_size 8)") {
		t.Errorf("old checkpoint resumed with other options: %v", err)
	}
	if res, err := stage.Train(ctx, j, nil); err != nil || len(res.History) != 2 {
		t.Fatalf("old checkpoint resumed: %+v, %v", res, err)
	}
}
