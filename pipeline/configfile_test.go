package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/privatesnn/privatesnn/attack"
)

// TestConfigErrors checks that a configuration's mistakes are named in
// the file's own terms: file, line, section, key and value.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ file, text, want string }{
		{"unknown.toml", "name = \"t\"\n[ann]\nepochs = 2\nepoch = 3\n", `unknown.toml:4: [ann] epoch: unknown key (did you mean epochs?)`},
		{"top.toml", "name = \"t\"\nsed = 3\n", `top.toml:2: sed (top level): unknown key (did you mean seed?)`},
		{"nested.toml", "name = \"t\"\n[audit.attack1]\niterations = 3\nsteps = 2\n", `nested.toml:4: [audit.attack1] steps: unknown key; [audit.attack1] takes iterations, lr, weight_decay, blur_every, batch`},
		{"dotted.toml", "name = \"t\"\n[audit]\nattack2.surrogate.kinds = \"x\"\n", `dotted.toml:3: [audit.attack2.surrogate] kinds: unknown key (did you mean kind?)`},
		{"section.toml", "name = \"t\"\n\n[trian]\nepochs = 1\n", `section.toml:3: trian (top level): unknown key; the top level takes name, workdir, seed, threads, skip, data, ann, synth, convert, encrypt, eval, evaluator, evaluator2, audit, energy, frontier, compare`},
		{"type.toml", "name = \"t\"\n[ann]\nepochs = \"ten\"\n", `type.toml:3: [ann] epochs = "ten": want an integer`},
		{"float.toml", "name = \"t\"\n[ann]\nepochs = 2.5\n", `float.toml:3: [ann] epochs = 2.5: want an integer`},
		{"array.toml", "name = \"t\"\n[encrypt]\nsamples = [1, \"x\"]\n", `array.toml:3: [encrypt] samples = [1, "x"]: want an array of integers`},
		{"table.toml", "name = \"t\"\ndata = \"mnist\"\n", `table.toml:2: data (top level) = "mnist": want a table of keys`},
		{"method.toml", "name = \"t\"\n[audit]\nmethods = [1, 6]\n", `method.toml:3: [audit] methods = [1, 6]: unknown method "6" (1 to 5)`},
		{"empty.toml", "# nothing\n", `empty.toml: no keys: a configuration needs at least name = "…" (the run's name; every other key has a default)`},
		{"noname.toml", "[ann]\nepochs = 2\n", `noname.toml: no name: add name = "…" at the top level (it names the run, and its work directory runs/<name>)`},
		{"syntax.toml", "name = \"t\"\n[ann]\nepochs = \n", `syntax.toml:3: expected value but found '\n' instead`},
		{"invalid.toml", "name = \"t\"\n[synth]\nper_class = 0\n", `invalid.toml: synth.per_class 0: want at least 1`},
		{"unknown.json", "{\n  \"name\": \"t\",\n  \"ann\": {\n    \"epoch\": 3\n  }\n}\n", `unknown.json:4: .ann.epoch: unknown key (did you mean epochs?)`},
		{"type.json", "{\"name\": \"t\",\n\"ann\": {\"epochs\": \"ten\"}}\n", `type.json:2: .ann.epochs: "ten": want an integer`},
		{"empty.json", "{}\n", `empty.json: no keys: a configuration needs at least "name": "…" (the run's name; every other key has a default)`},
		{"syntax.json", "{\"name\": \"t\",\n\"ann\": {\"epochs\": 2,}}\n", `syntax.json:2: invalid character '}' looking for beginning of object key string`},
		{"list.json", "[1]\n", `list.json:1: want an object of keys`},
	} {
		path := filepath.Join(dir, tc.file)
		if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := Load(path)
		if err == nil {
			t.Errorf("%s: no error", tc.file)
			continue
		}
		if got, want := err.Error(), filepath.Join(dir, tc.want); got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.file, got, want)
		}
	}
}

// TestMethodNumbers checks that the audit's methods can be written as
// numbers, as the attack command's --methods takes them.
func TestMethodNumbers(t *testing.T) {
	c, err := Parse([]byte("name = \"t\"\n[audit]\nmethods = [1, 3]\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Audit.Methods) != 2 || c.Audit.Methods[0].Method != attack.Visualize || c.Audit.Methods[1].Method != attack.SNNInversion {
		t.Errorf("methods %v", c.Audit.Methods)
	}
}
