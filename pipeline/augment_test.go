package pipeline

import "testing"

// TestAugmentKeys: a configuration sets the augmentation with the keys
// crop_pad and hflip, and the keys of earlier versions (CropPad, HFlip)
// still load with the same meaning.
func TestAugmentKeys(t *testing.T) {
	for _, text := range []string{
		"name = \"t\"\n[ann.augment]\ncrop_pad = 3\n[evaluator.augment]\ncrop_pad = 1\n",
		"name = \"t\"\n[ann.augment]\nCropPad = 3\n[evaluator.augment]\nCropPad = 1\n",
	} {
		c, err := Parse([]byte(text), true)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if c.ANN.Augment.CropPad != 3 || c.Evaluator.Augment.CropPad != 1 || c.ANN.Augment.HFlip {
			t.Errorf("%q: ann %+v, evaluator %+v", text, c.ANN.Augment, c.Evaluator.Augment)
		}
	}
	if _, err := Parse([]byte("name = \"t\"\n[ann.augment]\ncrop = 3\n"), true); err == nil {
		t.Error("unknown augment key: no error")
	}
}
