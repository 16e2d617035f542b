package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/modelfile"
)

func runCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"nope"},
		{"train", "--epochs", "0", "--out", dir},
		{"train", "--flip", "sideways", "--out", dir},
		{"train", "--lr-steps", "0.8,0.2", "--out", dir},
		{"train", "--model", "vgg99", "--out", dir},
		{"train", "extra-arg", "--out", dir},
		{"eval"},
		{"bench", "--batch", "0"},
		{"bench", "--only", "nope"},
		{"bench", "--only", "snn"},
		{"bench", "--bptt-timesteps", "0"},
	} {
		code, _, stderr := runCLI(t, context.Background(), args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
		if strings.Contains(stderr, "flag provided but not defined") {
			t.Errorf("%v: failed on an unknown flag, not on the error under test: %q", args, stderr)
		}
	}
}

func TestTrainEvalResume(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--data", "embedded", "--limit", "256", "--epochs", "2", "--batch", "32",
		"--features", "8,A,16,A", "--hidden", "32", "--out", dir, "--json", "--quiet", "--seed", "3"}
	code, stdout, stderr := runCLI(t, context.Background(), args...)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	var res struct {
		TestAccuracy float64 `json:"test_accuracy"`
		Seconds      float64 `json:"seconds"`
		History      []any   `json:"history"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("train output is not JSON: %v\n%s", err, stdout)
	}
	if len(res.History) != 2 || res.Seconds <= 0 || res.TestAccuracy <= 0.1 {
		t.Fatalf("train result %+v: want 2 epochs and better than chance", res)
	}
	c, err := modelfile.ReadCard(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Provenance.TrainingDataAccessed || c.Seed != 3 || c.Metrics["test_accuracy"] != res.TestAccuracy {
		t.Fatalf("card %+v", c)
	}
	// A second train into the same directory refuses to overwrite.
	if code, _, stderr := runCLI(t, context.Background(), args...); code != 1 || !strings.Contains(stderr, "--force") {
		t.Fatalf("overwrite: exit %d %q", code, stderr)
	}
	// eval reproduces the final test accuracy.
	code, stdout, stderr = runCLI(t, context.Background(), "eval", "--model", dir, "--data", "embedded", "--limit", "256", "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	var ev struct {
		Accuracy float64 `json:"accuracy"`
	}
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil || ev.Accuracy != res.TestAccuracy {
		t.Fatalf("eval %s (err %v), want accuracy %g", stdout, err, res.TestAccuracy)
	}

	// Interrupt a second run mid-way, resume it, and get the same bytes as
	// the uninterrupted run.
	dir2 := filepath.Join(t.TempDir(), "run2")
	args2 := append(append([]string(nil), args...), "--out", dir2)
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	testHookStep = func() {
		if steps++; steps == 11 {
			cancel()
		}
	}
	code, _, stderr = runCLI(t, ctx, args2...)
	testHookStep = nil
	if code != 130 {
		t.Fatalf("interrupted train exit %d, want 130: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir2, modelfile.CheckpointState)); err != nil {
		t.Fatalf("no checkpoint after interrupt: %v", err)
	}
	code, _, stderr = runCLI(t, context.Background(), append(args2, "--resume")...)
	if code != 0 {
		t.Fatalf("resume exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, modelfile.WeightsFile))
	b, _ := os.ReadFile(filepath.Join(dir2, modelfile.WeightsFile))
	if !bytes.Equal(a, b) {
		t.Fatal("resumed run's weights differ from the uninterrupted run's")
	}
}
