package convert

import (
	"errors"
	"testing"

	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/snn"
)

// TestForQCFS: a QCFS ANN's select conversion takes thresholds from the
// clips and the correction on where the settings leave them empty, keeps
// what they set, and leaves the paper recipe alone.
func TestForQCFS(t *testing.T) {
	s := DefaultSettings(RecipeSelect)
	s.Source, s.Correct = "", ""
	if q := s.ForQCFS(); q.Source != SourceClips || q.Correct != CorrectOn {
		t.Errorf("empty settings: thresholds %q, correct %q", q.Source, q.Correct)
	}
	s.Source, s.Correct = SourceClips, CorrectOff
	if q := s.ForQCFS(); q.Source != SourceClips || q.Correct != CorrectOff {
		t.Errorf("--correct off: correct %q", q.Correct)
	}
	p := DefaultSettings(RecipePaper)
	if q := p.ForQCFS(); q.Source != p.Source || q.Correct != p.Correct {
		t.Errorf("paper recipe changed: %+v", q)
	}
}

// TestSettingsBurst: burst spikes reach the network's configuration, with
// signed neurons too; out of range, with reset zero and for an NIR-exact
// conversion they are refused with an error naming the key.
func TestSettingsBurst(t *testing.T) {
	for _, r := range []Recipe{RecipeSelect, RecipePaper} {
		s := DefaultSettings(r)
		s.Burst = 2
		if err := s.Validate(); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if got := s.Options().Config([]float32{1}).Burst; got != 2 {
			t.Fatalf("%s: the network's burst is %d", r, got)
		}
		sb := s
		sb.Signed = true
		if err := sb.Validate(); err != nil || !sb.Options().Config([]float32{1}).Signed {
			t.Fatalf("%s: signed burst neurons: %v", r, err)
		}
		for _, bad := range []func(*Settings){
			func(s *Settings) { s.Reset = snn.ResetZero },
			func(s *Settings) { s.Burst = -1 },
			func(s *Settings) { s.Burst = snn.MaxBurst + 1 },
		} {
			b := s
			bad(&b)
			var se *setting.Error
			if err := b.Validate(); !errors.As(err, &se) || se.Key != "burst" {
				t.Fatalf("%s %+v: %v, want an error on burst", r, b, err)
			}
		}
	}
	s := DefaultSettings(RecipeSelect)
	s.Burst = 3
	var se *setting.Error
	if err := s.PinNIRExact(); !errors.As(err, &se) || se.Key != "burst" {
		t.Fatalf("NIR-exact with burst spikes: %v", err)
	}
}

// TestSettingsSigned: signed neurons reach the network's configuration,
// need reset subtract (an error naming the key) and are no NIR-exact
// conversion.
func TestSettingsSigned(t *testing.T) {
	for _, r := range []Recipe{RecipeSelect, RecipePaper} {
		s := DefaultSettings(r)
		s.Signed = true
		if err := s.Validate(); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if !s.Options().Config([]float32{1}).Signed {
			t.Fatalf("%s: the network is not signed", r)
		}
		s.Reset = snn.ResetZero
		var se *setting.Error
		if err := s.Validate(); !errors.As(err, &se) || se.Key != "signed" {
			t.Fatalf("%s with reset zero: %v, want an error on signed", r, err)
		}
	}
	s := DefaultSettings(RecipeSelect)
	s.Signed = true
	var se *setting.Error
	if err := s.PinNIRExact(); !errors.As(err, &se) || se.Key != "signed" {
		t.Fatalf("NIR-exact with signed neurons: %v", err)
	}
}
