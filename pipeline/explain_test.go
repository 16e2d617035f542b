package pipeline

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestExplainParsesBack checks that the reference of the keys (Explain)
// parses back to the configuration it was written from: the defaults and
// every shipped configuration.
func TestExplainParsesBack(t *testing.T) {
	configs := map[string]Config{"defaults": Defaults()}
	for _, name := range []string{"demo", "fashion-mnist", "mnist", "cifar10-vgg16", "frontier"} {
		c, _, err := Load("../configs/" + name + ".toml")
		if err != nil {
			t.Fatal(err)
		}
		configs[name] = c
	}
	for name, c := range configs {
		var b strings.Builder
		if err := Explain(&b, c); err != nil {
			t.Fatal(err)
		}
		if os.Getenv("SHOW_EXPLAIN") == name {
			t.Log("\n" + b.String())
		}
		got, err := Parse([]byte(b.String()), true)
		if err != nil {
			t.Fatalf("%s: the explanation does not parse: %v\n%s", name, err, b.String())
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("%s: the explanation parses to\n%+v\nwant\n%+v", name, got, c)
		}
	}
}

// TestExplainCompareSections checks that the compare entries come out as
// [[compare]] sections, one key per line with the keys' descriptions
// once, and that a configuration without entries describes an entry's
// keys.
func TestExplainCompareSections(t *testing.T) {
	c, _, err := Load("../configs/fashion-mnist.toml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Explain(&b, c); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if got := strings.Count(out, "\n[[compare]]\n"); got != len(c.Compare) || got == 0 {
		t.Errorf("%d [[compare]] sections for %d entries", got, len(c.Compare))
	}
	if strings.Contains(out, "compare = [") {
		t.Error("the compare entries are still written as one inline array")
	}
	if got := strings.Count(out, "# name names the model in the report"); got != 1 {
		t.Errorf("the name key's description appears %d times, want once", got)
	}
	for _, e := range c.Compare {
		if !strings.Contains(out, "name = "+jsonString(e.Name)+"\n") {
			t.Errorf("entry %q missing", e.Name)
		}
	}

	b.Reset()
	if err := Explain(&b, Defaults()); err != nil {
		t.Fatal(err)
	}
	out = b.String()
	for _, want := range []string{"# [[compare]]: none; an entry's keys:\n", "# name names the model in the report", "# name: not set\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the defaults' explanation lacks %q", want)
		}
	}
}
