package main

import "testing"

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{
		"DC":                     "DC",
		"DC + CET + OD":          "DC-CET-OD",
		"DC + CET + OD (T = 64)": "DC-CET-OD-T-64",
		"../x":                   "..-x",
		"..":                     "model",
		"":                       "model",
		"é/ü":                    "model",
		"runs/fm-sel8":           "runs-fm-sel8",
	} {
		if got := fileName(in); got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
	}
}
