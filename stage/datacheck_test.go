package stage

import (
	"errors"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/vgg"
)

// TestCheckDataFolders: an image folder's class names are compared with
// those of a model trained on an image folder (other names are refused);
// against a named data set only the count is, and DataNote says so.
func TestCheckDataFolders(t *testing.T) {
	names := func(prefix string) []string {
		var n []string
		for _, c := range "0123456789" {
			n = append(n, prefix+string(c))
		}
		return n
	}
	model := func(data string, classes []string) *Model {
		return &Model{Path: "m", Net: &vgg.Model{Config: vgg.Config{InChannels: 1, InHeight: 28, InWidth: 28, Classes: 10}},
			Card: &modelfile.Card{Kind: modelfile.KindANN, Data: data, ClassNames: classes}}
	}
	set := func(name string, classes []string) *imageset.Set {
		return &imageset.Set{Name: name + "/test", Channels: 1, Height: 28, Width: 28, Classes: 10, ClassNames: classes}
	}
	fashion := []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	for _, c := range []struct {
		name   string
		s      *imageset.Set
		m      *Model
		refuse bool
		note   string
	}{
		{"folder, same names", set("folder", names("cls")), model("folder", names("cls")), false, ""},
		{"folder, other names", set("folder", names("digit")), model("folder", names("cls")), true, ""},
		{"folder on a named set", set("folder", names("cls")), model("embedded", fashion), false, "trained on fashion-mnist: the class names differ (cls0, cls1, cls2, … (10); the model's: T-shirt/top, Trouser, Pullover, … (10))"},
		{"named set on a folder model", set("mnist", names("")), model("folder", names("cls")), false, "trained on an image folder"},
		{"folder with the set's names", set("folder", fashion), model("fashion-mnist", fashion), false, ""},
		{"named sets", set("embedded", fashion), model("fashion-mnist", fashion), false, ""},
	} {
		err := CheckData(c.s, RoleData, c.m)
		var other *OtherDataError
		if got := errors.As(err, &other); got != c.refuse || (err != nil && !c.refuse) {
			t.Errorf("%s: CheckData = %v, want refused %v", c.name, err, c.refuse)
		}
		if c.refuse && (other.Have != "digit0, digit1, digit2, … (10)" || !strings.Contains(other.Trained, "cls0, cls1, cls2")) {
			t.Errorf("%s: %+v, want both sets of names", c.name, other)
		}
		if note := DataNote(c.s, c.m); (c.note == "") != (note == "") || !strings.Contains(note, c.note) {
			t.Errorf("%s: DataNote = %q, want %q", c.name, note, c.note)
		}
	}
}
