package modelfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// flipBytes inverts the 4 bytes of the file at path that end 8 bytes
// before its end (inside the last tensor's data).
func flipBytes(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) - 12; i < len(b)-8; i++ {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWeightsChecksum: Save records the weights file's SHA-256 in the card;
// Load refuses weights whose digest differs (4 bytes flipped) with an
// error that says the weights changed, and a card without a digest (an
// earlier version's) still loads.
func TestWeightsChecksum(t *testing.T) {
	dir := t.TempDir()
	if err := Save(dir, tinyModel(t, 1), card()); err != nil {
		t.Fatal(err)
	}
	c, err := ReadCard(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := WeightsDigest(dir)
	if err != nil || c.WeightsSHA256 != sum || len(sum) != 64 {
		t.Fatalf("card records %q, weights digest %q (%v)", c.WeightsSHA256, sum, err)
	}
	if _, _, err := Load(dir); err != nil {
		t.Fatalf("unchanged weights: %v", err)
	}
	flipBytes(t, filepath.Join(dir, WeightsFile))
	_, _, err = Load(dir)
	if !errors.Is(err, ErrWeightsChanged) || !strings.Contains(err.Error(), "weights changed") || !strings.Contains(err.Error(), WeightsFile) {
		t.Fatalf("flipped weights: %v, want %v naming %s", err, ErrWeightsChanged, WeightsFile)
	}
	if got, err := CheckWeights(dir, c); !errors.Is(err, ErrWeightsChanged) || got == sum {
		t.Errorf("CheckWeights: %s, %v", got, err)
	}

	// A card of an earlier version: no digest, nothing checked.
	b, err := os.ReadFile(filepath.Join(dir, CardFile))
	if err != nil {
		t.Fatal(err)
	}
	old := bytes.Replace(b, []byte(`"weights_sha256": "`+sum+`",`), nil, 1)
	if bytes.Equal(old, b) {
		t.Fatal("the card's digest line was not found")
	}
	if err := os.WriteFile(filepath.Join(dir, CardFile), old, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, c, err := Load(dir); err != nil || c.WeightsSHA256 != "" {
		t.Errorf("card without digest: %v", err)
	}
}
