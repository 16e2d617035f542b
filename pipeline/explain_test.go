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
