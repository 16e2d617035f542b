package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func k8sTestSpec() EmitSpec {
	return EmitSpec{
		Name:    "MNIST dc_sweep",
		Binary:  "/usr/local/bin/privatesnn",
		Config:  "/data/sweeps/mnist.toml",
		Workdir: "/data/work",
		Threads: 4,
		Jobs: []EmitJob{
			{ID: "synth-1", Level: 0},
			{ID: "convert-2", Deps: []string{"synth-1"}, Level: 1},
			{ID: "encrypt-3", Deps: []string{"convert-2"}, Level: 2},
			{ID: "eval-4", Deps: []string{"convert-2"}, Level: 2},
		},
		Image: "registry.example/privatesnn:1",
		Claim: "privatesnn-data",
		Mount: "/data",
	}
}

// emitK8sDecoded returns EmitK8s's manifest for s, decoded with numbers
// kept as json.Number.
func emitK8sDecoded(t *testing.T, s EmitSpec) map[string]any {
	t.Helper()
	var b bytes.Buffer
	if err := EmitK8s(&b, s); err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, b.Bytes()).(map[string]any)
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// at returns the value at a path of object keys and array indexes.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: %q of a %T", path, k, v)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("%v: [%d] of %T %v", path, k, v, v)
			}
			v = a[k]
		}
	}
	return v
}

func strs(t *testing.T, v any) []string {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is a %T, not an array", v, v)
	}
	var out []string
	for _, e := range a {
		s, ok := e.(string)
		if !ok {
			t.Fatalf("%v is a %T, not a string", e, e)
		}
		out = append(out, s)
	}
	return out
}

func loadJobSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "k8s", "job-batch-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, b).(map[string]any)
}

func TestEmitK8sSchema(t *testing.T) {
	schema := loadJobSchema(t)
	var b bytes.Buffer
	if err := EmitK8s(&b, k8sTestSpec()); err != nil {
		t.Fatal(err)
	}
	if errs := schemaErrors(schema, decodeJSON(t, b.Bytes())); len(errs) > 0 {
		t.Fatalf("manifest against the batch/v1 Job schema:\n%s\nmanifest:\n%s", strings.Join(errs, "\n"), b.Bytes())
	}

	// The checker rejects what the schema forbids.
	container := []any{"spec", "template", "spec", "containers", 0}
	for _, c := range []struct {
		name   string
		change func(m map[string]any)
		want   string // in one of the errors
	}{
		{"unknown field", func(m map[string]any) {
			at(t, m, container...).(map[string]any)["cpus"] = json.Number("4")
		}, "containers[0].cpus: not allowed"},
		{"unknown top-level field", func(m map[string]any) {
			m["status2"] = map[string]any{}
		}, "status2: not allowed"},
		{"string for integer", func(m map[string]any) {
			at(t, m, "spec").(map[string]any)["completions"] = "5"
		}, "spec.completions: want [integer null]"},
		{"fraction for integer", func(m map[string]any) {
			at(t, m, "spec").(map[string]any)["parallelism"] = json.Number("1.5")
		}, "spec.parallelism: want [integer null]"},
		{"int32 overflow", func(m map[string]any) {
			at(t, m, "spec").(map[string]any)["backoffLimit"] = json.Number("2147483648")
		}, "spec.backoffLimit: 2147483648 out of int32"},
		{"missing required", func(m map[string]any) {
			delete(at(t, m, container...).(map[string]any), "name")
		}, `containers[0]: missing "name"`},
		{"object for array", func(m map[string]any) {
			at(t, m, container...).(map[string]any)["args"] = map[string]any{}
		}, "containers[0].args: want [array null]"},
		{"wrong item type", func(m map[string]any) {
			at(t, m, container...).(map[string]any)["args"] = []any{"run", json.Number("4")}
		}, "containers[0].args[1]: want [string null]"},
		{"quantity neither string nor number", func(m map[string]any) {
			at(t, m, append(container, "resources", "limits")...).(map[string]any)["cpu"] = true
		}, "limits.cpu: 0 of 2 oneOf"},
		{"enum", func(m map[string]any) {
			m["kind"] = "Pod"
		}, "kind: \"Pod\" not in"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := decodeJSON(t, b.Bytes()).(map[string]any)
			c.change(m)
			errs := schemaErrors(schema, m)
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, c.want) }) {
				t.Errorf("errors %q, want one with %q", errs, c.want)
			}
		})
	}
}

func TestEmitK8sJob(t *testing.T) {
	s := k8sTestSpec()
	m := emitK8sDecoded(t, s)
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"apiVersion"}, "batch/v1"},
		{[]any{"kind"}, "Job"},
		{[]any{"metadata", "name"}, "privatesnn-mnist-dc-sweep"},
		{[]any{"metadata", "labels", "app.kubernetes.io/name"}, "privatesnn"},
		{[]any{"spec", "completionMode"}, "Indexed"},
		{[]any{"spec", "completions"}, json.Number(strconv.Itoa(len(s.Jobs) + 1))},
		{[]any{"spec", "parallelism"}, json.Number("2")}, // encrypt-3 and eval-4 share Level 2
		{[]any{"spec", "template", "metadata", "labels", "app.kubernetes.io/name"}, "privatesnn"},
		{[]any{"spec", "template", "spec", "restartPolicy"}, "Never"},
		{[]any{"spec", "template", "spec", "containers", 0, "image"}, s.Image},
		{[]any{"spec", "template", "spec", "containers", 0, "env", 0, "name"}, "STAGE_INDEX"},
		{[]any{"spec", "template", "spec", "containers", 0, "env", 0, "valueFrom", "fieldRef", "fieldPath"},
			"metadata.annotations['batch.kubernetes.io/job-completion-index']"},
		{[]any{"spec", "template", "spec", "containers", 0, "resources", "requests", "cpu"}, "4"},
		{[]any{"spec", "template", "spec", "containers", 0, "resources", "limits", "cpu"}, "4"},
		{[]any{"spec", "template", "spec", "containers", 0, "volumeMounts", 0, "mountPath"}, "/data"},
		{[]any{"spec", "template", "spec", "containers", 0, "volumeMounts", 0, "name"}, "work"},
		{[]any{"spec", "template", "spec", "volumes", 0, "name"}, "work"},
		{[]any{"spec", "template", "spec", "volumes", 0, "persistentVolumeClaim", "claimName"}, s.Claim},
	} {
		if got := at(t, m, c.path...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v = %#v, want %#v", c.path, got, c.want)
		}
	}
	if bl := at(t, m, "spec", "backoffLimit").(json.Number); bl == "" || bl == "0" {
		t.Errorf("backoffLimit %q: want a few retries", bl)
	}

	for _, c := range []struct {
		parallel int
		done     bool
		want     string
	}{{3, false, "3"}, {100, false, "5"}, {0, true, "1"}} {
		s := k8sTestSpec()
		s.Parallel = c.parallel
		for i := range s.Jobs {
			s.Jobs[i].Done = c.done
		}
		if got := at(t, emitK8sDecoded(t, s), "spec", "parallelism"); got != json.Number(c.want) {
			t.Errorf("Parallel %d, all done %v: parallelism %v, want %s", c.parallel, c.done, got, c.want)
		}
	}
}

// k8sExpand expands s as Kubernetes expands a container's command and
// args: $(NAME) of a variable in env becomes its value, $$ becomes $, and
// everything else stays.
func k8sExpand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				b.WriteByte('$')
				continue
			}
			v, ok := env[s[i+2:i+end]]
			if !ok {
				b.WriteByte('$')
				continue
			}
			b.WriteString(v)
			i += end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func TestEmitK8sArgs(t *testing.T) {
	// A "$(STAGE_INDEX)" and a "$" in the paths must reach the worker
	// as written, spaces included.
	s := k8sTestSpec()
	s.Config = "/data/sweeps/mnist $x.toml"
	s.Workdir = "/data/work-$(STAGE_INDEX)"
	prefix := []string{"run", s.Config, "--workdir", s.Workdir, "--threads", "4"}
	want := map[int][]string{
		0:           append(slices.Clone(prefix), "--stage-index", "0", "--wait"),
		2:           append(slices.Clone(prefix), "--stage-index", "2", "--wait"),
		len(s.Jobs): append(slices.Clone(prefix), "--stage-index", strconv.Itoa(len(s.Jobs)), "--wait"),
	}

	m := emitK8sDecoded(t, s)
	c := at(t, m, "spec", "template", "spec", "containers", 0)
	command, args := strs(t, at(t, c, "command")), strs(t, at(t, c, "args"))
	if len(command) != 1 || k8sExpand(command[0], nil) != s.Binary {
		t.Fatalf("command %q: want the binary alone", command)
	}
	env := map[string]string{"STAGE_INDEX": "0"}
	if got, w := k8sExpand(strings.Join(args, "\x00"), env), strings.Join(want[0], "\x00"); got != w {
		t.Errorf("args %q, want %q", strings.Split(got, "\x00"), strings.Split(w, "\x00"))
	}

	// Run the container's command, expanded for each index, with a stand-in
	// for the binary (a shell script) that prints its arguments.
	if _, err := exec.LookPath("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for the stand-in binary:", err)
	}
	stub := filepath.Join(t.TempDir(), "privatesnn")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.Binary = stub
	c = at(t, emitK8sDecoded(t, s), "spec", "template", "spec", "containers", 0)
	argv := append(strs(t, at(t, c, "command")), strs(t, at(t, c, "args"))...)
	for _, i := range []int{0, 2, len(s.Jobs)} {
		env := map[string]string{"STAGE_INDEX": strconv.Itoa(i)}
		var x []string
		for _, a := range argv {
			x = append(x, k8sExpand(a, env))
		}
		cmd := exec.Command(x[0], x[1:]...)
		cmd.Env = append(os.Environ(), "STAGE_INDEX="+strconv.Itoa(i))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("index %d: %v\n%s", i, err, out)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if !slices.Equal(got, want[i]) {
			t.Errorf("index %d runs %q, want %q", i, got, want[i])
		}
	}
}

func TestEmitK8sErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(s *EmitSpec)
		want   string // "" for no error
	}{
		{"valid", func(s *EmitSpec) {}, ""},
		{"workdir is the mount", func(s *EmitSpec) { s.Workdir = "/data" }, ""},
		{"mount is the root", func(s *EmitSpec) { s.Mount = "/" }, ""},
		{"relative config", func(s *EmitSpec) { s.Config = "sweeps/mnist.toml" }, "config \"sweeps/mnist.toml\": want an absolute path"},
		{"config outside", func(s *EmitSpec) { s.Config = "/etc/mnist.toml" }, "not under the mount"},
		{"config beside the mount", func(s *EmitSpec) { s.Config = "/database/mnist.toml" }, "not under the mount"},
		{"config leaves the mount", func(s *EmitSpec) { s.Config = "/data/../etc/mnist.toml" }, "not under the mount"},
		{"config is the mount", func(s *EmitSpec) { s.Config = "/data" }, "not under the mount"},
		{"relative workdir", func(s *EmitSpec) { s.Workdir = "work" }, "workdir \"work\": want an absolute path"},
		{"workdir outside", func(s *EmitSpec) { s.Workdir = "/tmp/work" }, "workdir \"/tmp/work\" is not under"},
		{"relative mount", func(s *EmitSpec) { s.Mount = "data" }, "mount \"data\": want an absolute path"},
		{"no claim", func(s *EmitSpec) { s.Claim = "" }, "no PersistentVolumeClaim"},
		{"no image", func(s *EmitSpec) { s.Image = "" }, "no container image"},
		{"no binary", func(s *EmitSpec) { s.Binary = "" }, "no binary"},
		{"no threads", func(s *EmitSpec) { s.Threads = 0 }, "threads 0"},
		{"negative parallel", func(s *EmitSpec) { s.Parallel = -1 }, "parallel -1"},
		{"no jobs", func(s *EmitSpec) { s.Jobs = nil }, "no stages"},
		{"too many jobs", func(s *EmitSpec) { s.Jobs = make([]EmitJob, k8sMaxCompletions) }, "at most 100000"},
		{"empty name", func(s *EmitSpec) { s.Name = "" }, "name \"\""},
		{"name without letters", func(s *EmitSpec) { s.Name = "_-._" }, "want a letter or digit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := k8sTestSpec()
			c.change(&s)
			var b bytes.Buffer
			err := EmitK8s(&b, s)
			switch {
			case c.want == "" && err != nil:
				t.Fatal(err)
			case c.want == "":
				return
			case err == nil:
				t.Fatalf("no error, want one with %q", c.want)
			case !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "emit k8s: "):
				t.Errorf("error %q, want \"emit k8s: ...%s...\"", err, c.want)
			}
			if b.Len() > 0 {
				t.Errorf("wrote %d bytes with an error", b.Len())
			}
		})
	}
}

func TestEmitK8sName(t *testing.T) {
	label := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	for _, c := range []struct{ name, want string }{
		{"mnist", "privatesnn-mnist"},
		{"MNIST dc_sweep", "privatesnn-mnist-dc-sweep"},
		{"--Fashion..MNIST--", "privatesnn-fashion-mnist"},
		{"café", "privatesnn-caf"},
		{strings.Repeat("a", 100), "privatesnn-" + strings.Repeat("a", 52)},
		// The cut falls on a "-", which goes.
		{strings.Repeat("a", 51) + "_b", "privatesnn-" + strings.Repeat("a", 51)},
	} {
		got, err := k8sJobName(c.name)
		if err != nil {
			t.Errorf("%q: %v", c.name, err)
			continue
		}
		if got != c.want || len(got) > 63 || !label.MatchString(got) {
			t.Errorf("%q: %q, want %q, a DNS-1123 label", c.name, got, c.want)
		}
	}
}

func TestEmitK8sDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := EmitK8s(&a, k8sTestSpec()); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b.Reset()
		if err := EmitK8s(&b, k8sTestSpec()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("two manifests of one spec differ:\n%s\n%s", a.Bytes(), b.Bytes())
		}
	}
	out := a.Bytes()
	if !json.Valid(out) || !bytes.HasSuffix(out, []byte("}\n")) || !bytes.HasPrefix(out, []byte("{\n  \"apiVersion\"")) {
		t.Errorf("want indented JSON with one trailing newline:\n%s", out)
	}
}

// schemaErrors checks v against a JSON schema, with only the keywords the
// Kubernetes schemas use; any other keyword is itself an error, so that a
// schema the checker cannot fully read does not pass.
func schemaErrors(schema map[string]any, v any) []string {
	var errs []string
	checkSchema(schema, v, "", &errs)
	return errs
}

func checkSchema(s map[string]any, v any, at string, errs *[]string) {
	fail := func(format string, a ...any) {
		*errs = append(*errs, strings.TrimPrefix(at, ".")+": "+fmt.Sprintf(format, a...))
	}
	obj, isObj := v.(map[string]any)
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kw := s[k]
		switch {
		case k == "description" || k == "$schema" || strings.HasPrefix(k, "x-kubernetes-"):
		case k == "type":
			var types []string
			switch t := kw.(type) {
			case string:
				types = []string{t}
			case []any:
				for _, e := range t {
					types = append(types, e.(string))
				}
			}
			if !slices.ContainsFunc(types, func(t string) bool { return hasJSONType(v, t) }) {
				fail("want %v, have %T", kw, v)
			}
		case k == "enum":
			if !slices.ContainsFunc(kw.([]any), func(e any) bool { return reflect.DeepEqual(e, v) }) {
				fail("%#v not in %v", v, kw)
			}
		case k == "format":
			checkFormat(kw.(string), v, fail)
		case k == "maxLength":
			n, err := kw.(json.Number).Int64()
			if str, ok := v.(string); err != nil || ok && int64(utf8.RuneCountInString(str)) > n {
				fail("longer than %v", kw)
			}
		case k == "required":
			for _, r := range kw.([]any) {
				if _, ok := obj[r.(string)]; isObj && !ok {
					fail("missing %q", r)
				}
			}
		case k == "properties":
			props := kw.(map[string]any)
			for name, sub := range props {
				if e, ok := obj[name]; isObj && ok {
					checkSchema(sub.(map[string]any), e, at+"."+name, errs)
				}
			}
		case k == "additionalProperties":
			props, _ := s["properties"].(map[string]any)
			names := make([]string, 0, len(obj))
			for name := range obj {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				if _, ok := props[name]; ok {
					continue
				}
				switch a := kw.(type) {
				case bool:
					if !a {
						*errs = append(*errs, strings.TrimPrefix(at+"."+name, ".")+": not allowed")
					}
				case map[string]any:
					checkSchema(a, obj[name], at+"."+name, errs)
				}
			}
		case k == "items":
			if a, ok := v.([]any); ok {
				for i, e := range a {
					checkSchema(kw.(map[string]any), e, fmt.Sprintf("%s[%d]", at, i), errs)
				}
			}
		case k == "oneOf":
			n := 0
			for _, sub := range kw.([]any) {
				var e []string
				checkSchema(sub.(map[string]any), v, at, &e)
				if len(e) == 0 {
					n++
				}
			}
			if n != 1 {
				fail("%d of %d oneOf branches match", n, len(kw.([]any)))
			}
		default:
			fail("schema keyword %q: not supported by this checker", k)
		}
	}
}

func hasJSONType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := strconv.ParseFloat(string(n), 64)
		return err == nil && f == math.Trunc(f)
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func checkFormat(format string, v any, fail func(string, ...any)) {
	switch format {
	case "int32", "int64":
		n, ok := v.(json.Number)
		if !ok {
			return
		}
		bits := 64
		if format == "int32" {
			bits = 32
		}
		if _, err := strconv.ParseInt(string(n), 10, bits); err != nil && hasJSONType(v, "integer") {
			fail("%s out of %s", n, format)
		}
	case "date-time":
		if str, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				fail("%q is not a date-time", str)
			}
		}
	default:
		fail("format %q: not supported by this checker", format)
	}
}
