package pipeline

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Fake sbatch: records its arguments, one per line, in $FAKE_SLURM/job-N
// (N from 101 up) and prints N; with FAKE_RUN=1 it then runs the batch
// script at once, for every array index, like a cluster that runs each job
// as soon as it is submitted.
const slurmFakeSbatch = `#!/usr/bin/env bash
set -euo pipefail
n=$(cat "$FAKE_SLURM/next" 2>/dev/null || echo 100)
n=$((n + 1))
echo "$n" > "$FAKE_SLURM/next"
printf '%s\n' "$@" > "$FAKE_SLURM/job-$n"
array=
while [ $# -gt 0 ]; do
  case $1 in
    --array=*) array=${1#--array=} ;;
    -*) ;;
    *) break ;;
  esac
  shift
done
script=$1
shift
if [ "${FAKE_RUN:-}" = 1 ]; then
  if [ -n "$array" ]; then
    for ((i = ${array%-*}; i <= ${array#*-}; i++)); do
      SLURM_ARRAY_TASK_ID=$i bash "$script" "$@" >> "$FAKE_SLURM/tasks.log" 2>&1
    done
  else
    bash "$script" "$@" >> "$FAKE_SLURM/tasks.log" 2>&1
  fi
fi
echo "$n"
`

// Fake squeue: prints $FAKE_QUEUED and records its arguments.
const slurmFakeSqueue = `#!/usr/bin/env bash
printf '%s\n' "$@" > "$FAKE_SLURM/squeue.args"
if [ -n "${FAKE_QUEUED:-}" ]; then echo "$FAKE_QUEUED"; fi
`

// Fake privatesnn: "run CONFIG --workdir W --threads T --stage ID" writes
// W/ID/stage.json; "--report" writes W/report.txt. Each run appends T and
// the arguments after it to W/runs.log.
const slurmFakeBinary = `#!/usr/bin/env bash
set -euo pipefail
[ "$1" = run ] || exit 2
workdir=$4
echo "$6 ${*:7}" >> "$workdir/runs.log"
case ${@: -2:1} in
  --stage) mkdir -p "$workdir/${@: -1}"; echo '{}' > "$workdir/${@: -1}/stage.json" ;;
  *) [ "${@: -1}" = --report ] && echo report > "$workdir/report.txt" ;;
esac
`

func slurmWriteFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

// slurmTestSpec is a 3-level DAG: a, b; c(a), e(b); d(c, b).
func slurmTestSpec(root string) EmitSpec {
	return EmitSpec{
		Name:    "tiny sweep",
		Binary:  filepath.Join(root, "my bin", "privatesnn"),
		Config:  filepath.Join(root, "it's.toml"),
		Workdir: filepath.Join(root, "work dir"),
		Threads: 3,
		Jobs: []EmitJob{
			{ID: "a-0", Level: 0},
			{ID: "b-0", Level: 0},
			{ID: "c-1", Deps: []string{"a-0"}, Level: 1},
			{ID: "e-1", Deps: []string{"b-0"}, Level: 1},
			{ID: "d-2", Deps: []string{"c-1", "b-0"}, Level: 2},
		},
	}
}

type slurmHarness struct {
	t               *testing.T
	spec            EmitSpec
	script, fakeDir string
	env             []string
}

func newSlurmHarness(t *testing.T) *slurmHarness {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	root := t.TempDir()
	h := &slurmHarness{t: t, spec: slurmTestSpec(root)}
	bindir := filepath.Join(root, "fakebin")
	h.fakeDir = filepath.Join(root, "fake slurm")
	slurmWriteFile(t, filepath.Join(bindir, "sbatch"), slurmFakeSbatch)
	slurmWriteFile(t, filepath.Join(bindir, "squeue"), slurmFakeSqueue)
	slurmWriteFile(t, h.spec.Binary, slurmFakeBinary)
	if err := os.MkdirAll(h.fakeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(h.spec.Workdir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := EmitSlurm(&b, h.spec); err != nil {
		t.Fatal(err)
	}
	h.script = filepath.Join(root, "submit.sh")
	if err := os.WriteFile(h.script, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bash, "-n", h.script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	h.env = append(os.Environ(),
		"PATH="+bindir+string(os.PathListSeparator)+filepath.Dir(bash)+string(os.PathListSeparator)+"/usr/bin:/bin",
		"FAKE_SLURM="+h.fakeDir,
		"SBATCH_EXTRA=--partition=test  --account=acct",
		"PSNN_FORCE=", "FAKE_QUEUED=", "FAKE_RUN=")
	return h
}

// submit runs the script with env added and returns its output.
func (h *slurmHarness) submit(wantOK bool, env ...string) string {
	h.t.Helper()
	cmd := exec.Command("bash", h.script)
	cmd.Env = append(slices.Clone(h.env), env...)
	out, err := cmd.CombinedOutput()
	if (err == nil) != wantOK {
		h.t.Fatalf("submission: err %v, want ok %v\n%s", err, wantOK, out)
	}
	return string(out)
}

// jobs returns the recorded sbatch argument lists, by job number from 101.
func (h *slurmHarness) jobs() [][]string {
	h.t.Helper()
	var jobs [][]string
	for n := 101; ; n++ {
		b, err := os.ReadFile(filepath.Join(h.fakeDir, "job-"+strconv.Itoa(n)))
		if os.IsNotExist(err) {
			return jobs
		}
		if err != nil {
			h.t.Fatal(err)
		}
		jobs = append(jobs, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"))
	}
}

// slurmOption returns the value of --name=value in args ("" if absent) and
// whether it is there.
func slurmOption(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name {
			return "", true
		}
	}
	return "", false
}

// slurmCheckJob checks one recorded sbatch call: its job name, array range
// ("" for none) and dependency ("" for none).
func slurmCheckJob(t *testing.T, args []string, name, array, dep string) {
	t.Helper()
	if v, _ := slurmOption(args, "--job-name"); v != name {
		t.Errorf("job name %q, want %q (%q)", v, name, args)
	}
	if v, _ := slurmOption(args, "--array"); v != array {
		t.Errorf("%s: array %q, want %q", name, v, array)
	}
	if v, _ := slurmOption(args, "--dependency"); v != dep {
		t.Errorf("%s: dependency %q, want %q", name, v, dep)
	}
	if _, kill := slurmOption(args, "--kill-on-invalid-dep"); kill != (dep != "") {
		t.Errorf("%s: --kill-on-invalid-dep present %v with dependency %q", name, kill, dep)
	}
	for _, want := range []string{"--parsable", "--cpus-per-task=3", "--partition=test", "--account=acct"} {
		if !slices.Contains(args, want) {
			t.Errorf("%s: no %s in %q", name, want, args)
		}
	}
}

// slurmTail returns the arguments after the batch script.
func slurmTail(t *testing.T, args []string) []string {
	t.Helper()
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			return args[i+1:]
		}
	}
	t.Fatalf("no batch script in %q", args)
	return nil
}

func slurmReadLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestEmitSlurmRunsSweep(t *testing.T) {
	h := newSlurmHarness(t)
	s := h.spec
	out := h.submit(true, "FAKE_RUN=1")
	jobs := h.jobs()
	if len(jobs) != 4 {
		t.Fatalf("%d sbatch calls, want 4\n%s", len(jobs), out)
	}
	slurmCheckJob(t, jobs[0], "psnn-tiny_sweep-L0", "0-1", "")
	slurmCheckJob(t, jobs[1], "psnn-tiny_sweep-L1", "0-1", "afterok:101")
	slurmCheckJob(t, jobs[2], "psnn-tiny_sweep-L2", "0-0", "afterok:102")
	slurmCheckJob(t, jobs[3], "psnn-tiny_sweep-report", "", "afterok:103")

	logs := strings.ReplaceAll(filepath.Join(s.Workdir, "slurm"), "%", "%%")
	if v, _ := slurmOption(jobs[0], "--output"); v != logs+"/%x-%A_%a.out" {
		t.Errorf("array output %q", v)
	}
	if v, _ := slurmOption(jobs[3], "--output"); v != logs+"/%x-%j.out" {
		t.Errorf("report output %q", v)
	}
	// The stages' IDs go through the IDs file; the rest is the command.
	wantCmd := []string{s.Binary, "run", s.Config, "--workdir", s.Workdir, "--threads", "3"}
	for i, ids := range [][]string{{"a-0", "b-0"}, {"c-1", "e-1"}, {"d-2"}} {
		a := slurmTail(t, jobs[i])
		if len(a) < 1 || !slices.Equal(slurmReadLines(t, a[0]), ids) {
			t.Errorf("level %d: IDs file of %q, want %q", i, a, ids)
		}
		if !slices.Equal(a[1:], wantCmd) {
			t.Errorf("level %d: command %q, want %q", i, a[1:], wantCmd)
		}
	}
	if a := slurmTail(t, jobs[3]); !slices.Equal(a, append(slices.Clone(wantCmd), "--report")) {
		t.Errorf("report command %q", a)
	}

	// Every stage ran once, in level order, then the report.
	runs := slurmReadLines(t, filepath.Join(s.Workdir, "runs.log"))
	want := []string{"3 --stage a-0", "3 --stage b-0", "3 --stage c-1", "3 --stage e-1", "3 --stage d-2", "3 --report"}
	if !slices.Equal(runs, want) {
		t.Errorf("runs %q, want %q\n%s", runs, want, out)
	}
	if _, err := os.Stat(filepath.Join(s.Workdir, "report.txt")); err != nil {
		t.Error(err)
	}
	if !strings.Contains(out, "submitted 5 of 5 stages in 3 arrays (0 finished), report job 104; jobs 101 102 103 104") {
		t.Errorf("summary missing:\n%s", out)
	}

	// A finished sweep submits nothing.
	out = h.submit(true, "FAKE_RUN=1")
	if n := len(h.jobs()); n != 4 {
		t.Errorf("finished sweep: %d sbatch calls in all, want 4", n)
	}
	if !strings.Contains(out, "all 5 stages finished; nothing submitted") {
		t.Errorf("finished sweep:\n%s", out)
	}
	if n := len(slurmReadLines(t, filepath.Join(s.Workdir, "runs.log"))); n != 6 {
		t.Errorf("finished sweep: %d runs in all, want 6", n)
	}
	// The squeue check asked about this sweep's job names.
	sq := slurmReadLines(t, filepath.Join(h.fakeDir, "squeue.args"))
	if v, _ := slurmOption(sq, "--name"); v != "psnn-tiny_sweep-L0,psnn-tiny_sweep-L1,psnn-tiny_sweep-L2,psnn-tiny_sweep-report" {
		t.Errorf("squeue --name %q", v)
	}
}

func TestEmitSlurmSkipsFinished(t *testing.T) {
	h := newSlurmHarness(t)
	s := h.spec
	// a-0 and all of level 1 are finished: level 0 submits b-0 alone and
	// level 2 follows level 0's array.
	for _, id := range []string{"a-0", "c-1", "e-1"} {
		slurmWriteFile(t, filepath.Join(s.Workdir, id, "stage.json"), "{}")
	}
	out := h.submit(true)
	jobs := h.jobs()
	if len(jobs) != 3 {
		t.Fatalf("%d sbatch calls, want 3\n%s", len(jobs), out)
	}
	slurmCheckJob(t, jobs[0], "psnn-tiny_sweep-L0", "0-0", "")
	slurmCheckJob(t, jobs[1], "psnn-tiny_sweep-L2", "0-0", "afterok:101")
	slurmCheckJob(t, jobs[2], "psnn-tiny_sweep-report", "", "afterok:102")
	if ids := slurmReadLines(t, slurmTail(t, jobs[0])[0]); !slices.Equal(ids, []string{"b-0"}) {
		t.Errorf("level 0 IDs %q", ids)
	}
	if !strings.Contains(out, "level 1: all 2 stages finished, skipped") ||
		!strings.Contains(out, "submitted 2 of 5 stages in 2 arrays (3 finished)") {
		t.Errorf("output:\n%s", out)
	}
}

func TestEmitSlurmSplitsArrays(t *testing.T) {
	h := newSlurmHarness(t)
	out := h.submit(true, "FAKE_RUN=1", "PSNN_ARRAY_MAX=1")
	jobs := h.jobs()
	if len(jobs) != 6 {
		t.Fatalf("%d sbatch calls, want 6\n%s", len(jobs), out)
	}
	slurmCheckJob(t, jobs[0], "psnn-tiny_sweep-L0", "0-0", "")
	slurmCheckJob(t, jobs[1], "psnn-tiny_sweep-L0", "0-0", "")
	slurmCheckJob(t, jobs[2], "psnn-tiny_sweep-L1", "0-0", "afterok:101:102")
	slurmCheckJob(t, jobs[3], "psnn-tiny_sweep-L1", "0-0", "afterok:101:102")
	slurmCheckJob(t, jobs[4], "psnn-tiny_sweep-L2", "0-0", "afterok:103:104")
	slurmCheckJob(t, jobs[5], "psnn-tiny_sweep-report", "", "afterok:105")
	for i, id := range []string{"a-0", "b-0", "c-1", "e-1", "d-2"} {
		file := slurmTail(t, jobs[i])[0]
		if ids := slurmReadLines(t, file); !slices.Equal(ids, []string{id}) {
			t.Errorf("array %d: %s holds %q, want %s", i, file, ids, id)
		}
	}
	if n := len(slurmReadLines(t, filepath.Join(h.spec.Workdir, "runs.log"))); n != 6 {
		t.Errorf("%d runs, want 6", n)
	}
	if !strings.Contains(out, "level 1: job 103 104, 2 of 2 stages, after 101 102") {
		t.Errorf("output:\n%s", out)
	}
	h.submit(false, "PSNN_ARRAY_MAX=0")
}

func TestEmitSlurmRefusesWhileQueued(t *testing.T) {
	h := newSlurmHarness(t)
	out := h.submit(false, "FAKE_QUEUED=101_[0-1] psnn-tiny_sweep-L0 PENDING")
	if len(h.jobs()) != 0 || !strings.Contains(out, "still queued") {
		t.Errorf("queued sweep submitted %d jobs:\n%s", len(h.jobs()), out)
	}
	h.submit(true, "FAKE_QUEUED=101_[0-1] psnn-tiny_sweep-L0 PENDING", "PSNN_FORCE=1")
	if n := len(h.jobs()); n != 4 {
		t.Errorf("PSNN_FORCE=1: %d sbatch calls, want 4", n)
	}
}

func TestEmitSlurmTaskScript(t *testing.T) {
	h := newSlurmHarness(t)
	h.submit(true)
	a := slurmTail(t, h.jobs()[1])
	task := filepath.Join(filepath.Dir(a[0]), "task.sh")
	run := func(idx string) ([]byte, error) {
		cmd := exec.Command("bash", append([]string{task}, a...)...)
		cmd.Env = append(slices.Clone(h.env), "SLURM_ARRAY_TASK_ID="+idx)
		return cmd.CombinedOutput()
	}
	if out, err := run("1"); err != nil {
		t.Fatalf("task 1: %v\n%s", err, out)
	}
	if runs := slurmReadLines(t, filepath.Join(h.spec.Workdir, "runs.log")); !slices.Equal(runs, []string{"3 --stage e-1"}) {
		t.Errorf("task 1 ran %q", runs)
	}
	if out, err := run("2"); err == nil || !strings.Contains(string(out), "no stage on line 3") {
		t.Errorf("task 2 of 2: err %v\n%s", err, out)
	}
}

func TestEmitSlurmDeterministic(t *testing.T) {
	s := slurmTestSpec("/shared/x")
	var a, b bytes.Buffer
	if err := EmitSlurm(&a, s); err != nil {
		t.Fatal(err)
	}
	if err := EmitSlurm(&b, s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two emissions differ")
	}
	for _, want := range []string{`config='/shared/x/it'\''s.toml'`, `workdir='/shared/x/work dir'`, "threads=3\n"} {
		if !strings.Contains(a.String(), want) {
			t.Errorf("script lacks %s", want)
		}
	}
}

func TestEmitSlurmValidates(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*EmitSpec)
		want string
	}{
		{"relative binary", func(s *EmitSpec) { s.Binary = "privatesnn" }, `Binary "privatesnn" is not an absolute path`},
		{"relative workdir", func(s *EmitSpec) { s.Workdir = "work" }, `Workdir "work" is not an absolute path`},
		{"relative config", func(s *EmitSpec) { s.Config = "" }, `Config "" is not an absolute path`},
		{"newline", func(s *EmitSpec) { s.Config = "/a\nb" }, "control character"},
		{"backslash", func(s *EmitSpec) { s.Workdir = `/a\b` }, "backslash"},
		{"threads", func(s *EmitSpec) { s.Threads = 0 }, "Threads 0"},
		{"name", func(s *EmitSpec) { s.Name = "" }, "empty Name"},
		{"no jobs", func(s *EmitSpec) { s.Jobs = nil }, "no jobs"},
		{"id chars", func(s *EmitSpec) { s.Jobs[1].ID = "b 0" }, `job 1: ID "b 0"`},
		{"dot id", func(s *EmitSpec) { s.Jobs[0].ID = ".." }, "not a directory name"},
		{"slurm id", func(s *EmitSpec) { s.Jobs[0].ID = "slurm" }, "Slurm logs"},
		{"duplicate", func(s *EmitSpec) { s.Jobs[1].ID = "a-0" }, "appears twice"},
		{"unknown dep", func(s *EmitSpec) { s.Jobs[2].Deps = []string{"zz"} }, `dependency "zz" is not an earlier job`},
		{"dep level", func(s *EmitSpec) { s.Jobs[4].Level = 1 }, "dependency c-1 has level 1, not below it"},
		{"negative level", func(s *EmitSpec) { s.Jobs[0].Level = -1 }, "negative level"},
	} {
		s := slurmTestSpec("/shared")
		c.edit(&s)
		var b bytes.Buffer
		err := EmitSlurm(&b, s)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "emit slurm: ") {
			t.Errorf("%s: error %v, want one with %q", c.name, err, c.want)
		}
		if b.Len() != 0 {
			t.Errorf("%s: wrote %d bytes", c.name, b.Len())
		}
	}
}

// TestEmitSlurmWriteScript writes the submission script of the EmitSpec in
// the JSON file $PSNN_EMIT_SPEC to $PSNN_EMIT_OUT, for
// scripts/slurm/emit-check.sh; without them it is skipped.
func TestEmitSlurmWriteScript(t *testing.T) {
	in, out := os.Getenv("PSNN_EMIT_SPEC"), os.Getenv("PSNN_EMIT_OUT")
	if in == "" || out == "" {
		t.Skip("PSNN_EMIT_SPEC and PSNN_EMIT_OUT not set")
	}
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var s EmitSpec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", in, err)
	}
	var script bytes.Buffer
	if err := EmitSlurm(&script, s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, script.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
}
