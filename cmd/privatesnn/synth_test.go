package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// saveTinyModel saves an untrained 3-class model on 8×8 grey images; synth
// needs only a model, never a data set.
func saveTinyModel(t *testing.T) string {
	t.Helper()
	m, err := vgg.New(vgg.Config{Name: "tiny", Features: []vgg.Item{4, vgg.Pool, 8, vgg.Pool}, Hidden: []int{16}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8, ConvDropout: 0.1, FCDropout: 0.5}, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ann")
	card := modelfile.Card{Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}, ClassNames: []string{"a", "b", "c"},
		Provenance: modelfile.Provenance{Dataset: "none", Software: "test"}}
	if err := modelfile.Save(dir, m, card); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSynth(t *testing.T) {
	model := saveTinyModel(t)
	out := filepath.Join(t.TempDir(), "synth")
	args := []string{"--model", model, "--per-class", "3", "--iterations", "20", "--lr", "0.05", "--batch", "4",
		"--seed", "11", "--out", out, "--json"}
	var stdout, stderr bytes.Buffer
	if err := runSynth(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("synth: %v\n%s", err, stderr.String())
	}
	var res stage.SynthResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if res.Images != 9 || res.Seconds <= 0 || len(res.PerClassFolder) != 3 || len(res.PerClassSoftArgmax) != 3 ||
		res.Iterations != 20 || res.Seed != 11 || res.TrainingDataAccessed {
		t.Errorf("result %+v", res)
	}
	for c := range 3 {
		for i := range 3 {
			if _, err := os.Stat(filepath.Join(out, "cls"+string(rune('0'+c)), "img"+string(rune('0'+i))+".png")); err != nil {
				t.Error(err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(out, synth.GridFile)); err != nil {
		t.Error(err)
	}
	set, err := synth.Load(out)
	if err != nil || set.Len() != 9 || set.Classes != 3 {
		t.Fatalf("binary file: %v", err)
	}
	js, err := os.ReadFile(filepath.Join(out, synth.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var man synth.Manifest
	if err := json.Unmarshal(js, &man); err != nil {
		t.Fatal(err)
	}
	if man.TrainingDataAccessed || man.Seed != 11 || man.Images != 9 || man.Model != model || man.Iterations != 20 ||
		len(man.Stats.PerClass) != 3 || !strings.Contains(string(js), `"training_data_accessed": false`) {
		t.Errorf("manifest %s", js)
	}

	// An existing output is never replaced without --force; with it, the
	// same seed gives the same bytes.
	stdout.Reset()
	if err := runSynth(context.Background(), args, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second run without --force: %v", err)
	}
	before, _ := os.ReadFile(filepath.Join(out, synth.BinaryFile))
	if err := runSynth(context.Background(), append(args, "--force", "--quiet"), &stdout, &stderr); err != nil {
		t.Fatalf("--force: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(out, synth.BinaryFile))
	if !bytes.Equal(before, after) {
		t.Error("same seed gave a different binary file")
	}
	js2, _ := os.ReadFile(filepath.Join(out, synth.ManifestFile))
	if !bytes.Equal(js, js2) {
		t.Error("same seed gave a different manifest")
	}
}

func TestSynthUsage(t *testing.T) {
	model := saveTinyModel(t)
	for _, args := range [][]string{
		{},
		{"--model", model, "--per-class", "0"},
		{"--model", model, "--lr", "-1"},
		{"--model", model, "--batch", "0"},
		{"--model", model, "--schedule", "slow"},
		{"--model", model, "extra"},
	} {
		args = append(args, "--out", filepath.Join(t.TempDir(), "o"), "--quiet")
		var stdout, stderr bytes.Buffer
		if err := runSynth(context.Background(), args, &stdout, &stderr); !errors.As(err, new(*usageError)) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	// A missing model is a plain failure.
	var stdout, stderr bytes.Buffer
	err := runSynth(context.Background(), []string{"--model", filepath.Join(t.TempDir(), "none"), "--out", filepath.Join(t.TempDir(), "o")}, &stdout, &stderr)
	if err == nil || errors.As(err, new(*usageError)) {
		t.Errorf("missing model: %v", err)
	}
	// Cancelling stops the run and leaves no output behind.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "o")
	if err := runSynth(ctx, []string{"--model", model, "--per-class", "2", "--iterations", "5", "--out", out, "--quiet"}, &stdout, &stderr); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("cancelled run left %s: %v", out, err)
	}
}
