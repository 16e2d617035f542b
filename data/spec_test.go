package data

import "testing"

func TestSpecLoad(t *testing.T) {
	s, err := Spec{Name: Embedded, Limit: 30}.Load(Test)
	if err != nil || s.Len() != 30 {
		t.Fatalf("limit 30: %v images, %v", s.Len(), err)
	}
	all, err := Spec{Name: Embedded}.Load(Test)
	if err != nil || all.Len() != 1000 {
		t.Fatalf("no limit: %v images, %v", all.Len(), err)
	}
	for i := range 30 {
		if s.Labels[i] != all.Labels[i] {
			t.Fatalf("image %d: the limit keeps the first images", i)
		}
	}
	for _, bad := range []Spec{{Name: "imagenet"}, {Name: ""}, {Name: Embedded, Limit: -1}} {
		if _, err := bad.Load(Test); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
