package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/modelfile"
)

// encryptFixture trains a tiny ANN on embedded images, synthesises from it
// and converts it with the paper's recipe; it returns the three paths.
func encryptFixture(t *testing.T) (ann, syn, snn string) {
	t.Helper()
	dir := t.TempDir()
	ann, syn, snn = filepath.Join(dir, "ann"), filepath.Join(dir, "syn"), filepath.Join(dir, "snn")
	for _, args := range [][]string{
		{"train", "--limit", "256", "--epochs", "1", "--features", "8,A,16,A", "--hidden", "32", "--batch", "32", "--out", ann, "--quiet"},
		{"synth", "--model", ann, "--per-class", "4", "--iterations", "5", "--out", syn, "--quiet"},
		{"convert", "--model", ann, "--synth", syn, "--out", snn, "--recipe", "paper", "--timesteps", "8", "--calib-images", "16", "--quiet"},
	} {
		if code, _, stderr := runCLI(t, context.Background(), args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	return ann, syn, snn
}

// An interrupted encrypt exits 130 with a checkpoint, and --resume ends
// with the weights of the uninterrupted run, byte for byte.
func TestEncryptResumeIsExact(t *testing.T) {
	_, syn, snn := encryptFixture(t)
	dir := t.TempDir()
	full, cut := filepath.Join(dir, "full"), filepath.Join(dir, "cut")
	base := []string{"encrypt", "--model", snn, "--synth", syn, "--per-class", "3", "--labels", "folder", "--epochs", "2", "--batch", "4", "--quiet"}
	if code, _, stderr := runCLI(t, context.Background(), append(base, "--out", full)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	testHookStep = func() {
		if steps++; steps == 11 { // in the second epoch (8 steps per epoch)
			cancel()
		}
	}
	code, _, stderr := runCLI(t, ctx, append(base, "--out", cut)...)
	testHookStep = nil
	if code != 130 {
		t.Fatalf("interrupted run: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(cut, modelfile.CheckpointState)); err != nil {
		t.Fatalf("no checkpoint after the interruption: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cut, modelfile.CardFile)); err == nil {
		t.Fatal("an interrupted run wrote a model card")
	}
	// eval on the interrupted run names the command that continues it.
	code, _, stderr = runCLI(t, context.Background(), "eval", "--model", cut)
	if code != 1 || !strings.Contains(stderr, "privatesnn encrypt --resume --out "+cut) {
		t.Fatalf("eval on an interrupted encrypt: exit %d, %q", code, stderr)
	}
	// Another run into the same --out must say what to do.
	code, _, stderr = runCLI(t, context.Background(), append(base, "--out", cut)...)
	if code != 1 || !strings.Contains(stderr, "pass --resume to continue it") {
		t.Fatalf("new run over an interrupted one: exit %d, %q", code, stderr)
	}
	// Changed settings are refused on resume.
	code, _, stderr = runCLI(t, context.Background(), append(base, "--out", cut, "--resume", "--lr", "0.001")...)
	if code != 2 || !strings.Contains(stderr, "other settings") {
		t.Fatalf("resume with another --lr: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, context.Background(), append(base, "--out", cut, "--resume")...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	a, err := os.ReadFile(filepath.Join(full, modelfile.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cut, modelfile.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("the resumed run's weights differ from the uninterrupted run's")
	}
	s, err := os.ReadFile(filepath.Join(snn, modelfile.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, s) {
		t.Fatal("encrypt left the converted weights unchanged")
	}
	if _, err := os.Stat(filepath.Join(cut, modelfile.CheckpointState)); err == nil {
		t.Fatal("the checkpoint stayed after the resumed run finished")
	}
}

// --labels target takes each image's soft-label argmax, folder its folder.
