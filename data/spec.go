package data

import (
	"fmt"
	"slices"
)

// Spec names a data set as a user states it: its name, the directory of
// its files (empty: its standard place) and how many images of each split
// to use (0: all).
type Spec struct {
	Name  Dataset `json:"name"`
	Dir   string  `json:"dir,omitempty"`
	Limit int     `json:"limit,omitempty"`
}

// Validate reports an unknown name or a negative limit.
func (s Spec) Validate() error {
	if !slices.Contains(Datasets, s.Name) {
		return fmt.Errorf("data: unknown data set %q (want one of %s)", s.Name, DatasetNames())
	}
	if s.Limit < 0 {
		return fmt.Errorf("data: limit %d: want 0 (all) or more", s.Limit)
	}
	return nil
}

// Load reads the split, keeping its first Limit images when Limit is
// positive.
func (s Spec) Load(split string) (*Set, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	set, err := Load(s.Name, split, s.Dir)
	if err != nil {
		return nil, err
	}
	if s.Limit > 0 && s.Limit < set.Len() {
		idx := make([]int, s.Limit)
		for i := range idx {
			idx[i] = i
		}
		set = set.Subset(idx)
	}
	return set, nil
}
