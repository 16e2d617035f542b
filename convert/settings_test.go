package convert

import "testing"

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
