package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// EmitSlurm writes a bash submission script for s's stages. Run with bash
// on a Slurm login node, it submits one job array per dependency level
// (EmitJob.Level; several arrays when a level has more than PSNN_ARRAY_MAX,
// default 1000, stages), each array task k running
//
//	Binary run Config --workdir Workdir --threads Threads --stage ID_k
//
// with --cpus-per-task=Threads and job name psnn-<Name>-L<level> (Name's
// characters other than [A-Za-z0-9._-] become '_'). Every
// level but the first waits for the previous submitted one with
// --dependency=afterok and --kill-on-invalid-dep=yes, so a failed or
// cancelled task cancels the levels above it instead of leaving them
// pending. A last job, psnn-<Name>-report, runs "--report" after the last
// level. At submission the script skips stages whose
// Workdir/ID/stage.json exists and levels left empty, so running it again
// after scancel or a failure submits only what is unfinished; when nothing
// is, it submits nothing and exits 0. It refuses to submit while jobs with
// the sweep's job names are queued (PSNN_FORCE=1 overrides), and it adds
// the words of SBATCH_EXTRA (partition, account, time limit) to every
// sbatch. The stage IDs of a level go to
// Workdir/slurm/submit-<time>-<pid>/level-<level>[.<part>].ids, one per line, read
// by a task script beside them; logs go to Workdir/slurm/%x-%A_%a.out.
//
// The output depends on s alone.
func EmitSlurm(w io.Writer, s EmitSpec) error {
	levels, err := slurmLevels(s)
	if err != nil {
		return fmt.Errorf("emit slurm: %w", err)
	}
	var b bytes.Buffer
	writeSlurmScript(&b, s, levels)
	_, err = w.Write(b.Bytes())
	return err
}

// slurmLevel is one level's stages, in Jobs order.
type slurmLevel struct {
	level int
	ids   []string
	done  int // stages marked Done when emitted
}

var slurmIDRe = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// slurmLevels validates s and groups its jobs by level, lowest first.
func slurmLevels(s EmitSpec) ([]slurmLevel, error) {
	if s.Name == "" {
		return nil, fmt.Errorf("empty Name")
	}
	for _, p := range []struct{ what, path string }{{"Binary", s.Binary}, {"Config", s.Config}, {"Workdir", s.Workdir}} {
		if !filepath.IsAbs(p.path) {
			return nil, fmt.Errorf("%s %q is not an absolute path", p.what, p.path)
		}
		if strings.ContainsFunc(p.path, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, fmt.Errorf("%s %q contains a control character", p.what, p.path)
		}
	}
	// A backslash in an output file name turns off Slurm's %-patterns.
	if strings.Contains(s.Workdir, `\`) {
		return nil, fmt.Errorf("Workdir %q contains a backslash, which Slurm's output file names do not allow", s.Workdir)
	}
	if s.Threads < 1 {
		return nil, fmt.Errorf("Threads %d: need at least 1", s.Threads)
	}
	if len(s.Jobs) == 0 {
		return nil, fmt.Errorf("sweep %q has no jobs", s.Name)
	}
	level := make(map[string]int, len(s.Jobs))
	byLevel := map[int]*slurmLevel{}
	for i, j := range s.Jobs {
		switch {
		case !slurmIDRe.MatchString(j.ID):
			return nil, fmt.Errorf("job %d: ID %q: want only letters, digits, '.', '_' and '-'", i, j.ID)
		case j.ID == "." || j.ID == "..":
			return nil, fmt.Errorf("job %d: ID %q is not a directory name", i, j.ID)
		case j.ID == "slurm":
			return nil, fmt.Errorf("job %d: ID %q is the directory of the Slurm logs", i, j.ID)
		case j.Level < 0:
			return nil, fmt.Errorf("job %d (%s): negative level %d", i, j.ID, j.Level)
		}
		if _, dup := level[j.ID]; dup {
			return nil, fmt.Errorf("job %d: ID %s appears twice", i, j.ID)
		}
		for _, d := range j.Deps {
			dl, ok := level[d]
			if !ok {
				return nil, fmt.Errorf("job %d (%s): dependency %q is not an earlier job", i, j.ID, d)
			}
			if dl >= j.Level {
				return nil, fmt.Errorf("job %d (%s, level %d): dependency %s has level %d, not below it", i, j.ID, j.Level, d, dl)
			}
		}
		level[j.ID] = j.Level
		l := byLevel[j.Level]
		if l == nil {
			l = &slurmLevel{level: j.Level}
			byLevel[j.Level] = l
		}
		l.ids = append(l.ids, j.ID)
		if j.Done {
			l.done++
		}
	}
	out := make([]slurmLevel, 0, len(byLevel))
	for _, l := range byLevel {
		out = append(out, *l)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].level < out[b].level })
	return out, nil
}

// slurmJobName makes name fit a Slurm job name and a squeue --name list.
func slurmJobName(name string) string {
	return "psnn-" + strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return r
		}
		return '_'
	}, name)
}

// slurmQuote quotes s as one bash word.
func slurmQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func writeSlurmScript(b *bytes.Buffer, s EmitSpec, levels []slurmLevel) {
	q := slurmQuote
	name := slurmJobName(s.Name)
	logdir := filepath.Join(s.Workdir, "slurm")
	// Slurm expands %-patterns in --output; %% is a literal %.
	pattern := strings.ReplaceAll(logdir, "%", "%%") + "/"
	stages, done := 0, 0
	names := make([]string, 0, len(levels)+1)
	for _, l := range levels {
		stages += len(l.ids)
		done += l.done
		names = append(names, name+"-L"+strconv.Itoa(l.level))
	}
	names = append(names, name+"-report")

	fmt.Fprintf(b, `#!/usr/bin/env bash
# Slurm submission of sweep %s, written by privatesnn: %d stages in %d
# levels, %d of them finished when this was written. Run it with bash on a
# login node.
#
# Each level is one job array whose task k runs the k-th unfinished stage of
# the level; every array waits for the previous submitted level to succeed
# (afterok), and --kill-on-invalid-dep=yes cancels it when that one fails or
# is cancelled. A last job writes the reports. Stages whose
# WORKDIR/ID/stage.json exists are skipped at submission, so running this
# again after scancel or a failure submits only what is unfinished.
#
# SBATCH_EXTRA: more sbatch options, split on whitespace, each one word
#   (e.g. "--partition=cpu --account=proj --time=4:00:00"); the options
#   set here win over them.
# PSNN_FORCE=1: submit even while jobs of this sweep are queued.
# PSNN_ARRAY_MAX: the most tasks in one array (default 1000, for Slurm's
#   default MaxArraySize of 1001); a larger level is split into several
#   arrays, and the next level waits for all of them.
set -euo pipefail

bin=%s
config=%s
workdir=%s
threads=%d
name=%s
logdir="$workdir/slurm"
outdir=%s

extra=()
if [ -n "${SBATCH_EXTRA:-}" ]; then
  read -r -a extra <<< "$SBATCH_EXTRA"
fi
max=${PSNN_ARRAY_MAX:-1000}
if ! [[ $max =~ ^[1-9][0-9]*$ ]]; then
  echo "PSNN_ARRAY_MAX=$max: want a positive integer" >&2
  exit 2
fi

if [ "${PSNN_FORCE:-}" != 1 ] && command -v squeue > /dev/null; then
  queued=$(squeue --noheader --user="$(id -un)" --name=%s \
    --states=PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED --format='%%i %%j %%T')
  if [ -n "$queued" ]; then
    echo "jobs of sweep $name are still queued:" >&2
    echo "$queued" >&2
    echo "wait for them or scancel them (PSNN_FORCE=1 submits anyway)" >&2
    exit 1
  fi
fi

mkdir -p "$logdir"
sub="$logdir/submit-$(date -u +%%Y%%m%%dT%%H%%M%%SZ)-$$"
mkdir "$sub"
cat > "$sub/task.sh" <<'EOF'
#!/usr/bin/env bash
# Array task: runs "$2.. --stage ID" with the ID on line
# SLURM_ARRAY_TASK_ID+1 of the IDs file $1.
set -euo pipefail
ids=$1
shift
mapfile -t stages < "$ids"
i=${SLURM_ARRAY_TASK_ID:?not an array task}
id=${stages[$i]:-}
if [ -z "$id" ]; then
  echo "no stage on line $((i + 1)) of $ids" >&2
  exit 1
fi
echo "stage $id (task $i) on $(hostname)"
exec "$@" --stage "$id"
EOF
cat > "$sub/report.sh" <<'EOF'
#!/usr/bin/env bash
exec "$@"
EOF

prev=
jobs=()
arrays=0
queued_stages=0
done_stages=0
trap 'rc=$?; if [ $rc -ne 0 ] && [ ${#jobs[@]} -gt 0 ]; then
  echo "submission failed after jobs ${jobs[*]}: scancel them, then run this again" >&2; fi' EXIT

# submit LEVEL ID...: the level's unfinished stages as one array (or, past
# $max stages, several), after the previous level's arrays.
submit() {
  local level=$1 id jid file part=0 start
  local ids=() dep=() new=() chunk=()
  shift
  for id in "$@"; do
    if [ -e "$workdir/$id/stage.json" ]; then
      done_stages=$((done_stages + 1))
    else
      ids+=("$id")
    fi
  done
  if [ ${#ids[@]} -eq 0 ]; then
    echo "level $level: all $# stages finished, skipped"
    return
  fi
  if [ -n "$prev" ]; then
    dep=(--dependency="afterok:$prev" --kill-on-invalid-dep=yes)
  fi
  for ((start = 0; start < ${#ids[@]}; start += max)); do
    file="$sub/level-$level.ids"
    if [ ${#ids[@]} -gt "$max" ]; then
      file="$sub/level-$level.$part.ids"
    fi
    chunk=("${ids[@]:start:max}")
    printf '%%s\n' "${chunk[@]}" > "$file"
    jid=$(sbatch --parsable ${extra[@]+"${extra[@]}"} ${dep[@]+"${dep[@]}"} \
      --job-name="$name-L$level" --array="0-$((${#chunk[@]} - 1))" \
      --cpus-per-task="$threads" --chdir="$workdir" --output="${outdir}%%x-%%A_%%a.out" \
      "$sub/task.sh" "$file" \
      "$bin" run "$config" --workdir "$workdir" --threads "$threads")
    new+=("${jid%%%%;*}")
    part=$((part + 1))
  done
  echo "level $level: job ${new[*]}, ${#ids[@]} of $# stages${prev:+, after ${prev//:/ }}"
  prev=$(IFS=:; echo "${new[*]}")
  jobs+=("${new[@]}")
  arrays=$((arrays + ${#new[@]}))
  queued_stages=$((queued_stages + ${#ids[@]}))
}

`, name, stages, len(levels), done,
		q(s.Binary), q(s.Config), q(s.Workdir), s.Threads, q(name), q(pattern),
		q(strings.Join(names, ",")))

	for _, l := range levels {
		fmt.Fprintf(b, "submit %d", l.level)
		for _, id := range l.ids {
			fmt.Fprintf(b, " \\\n  %s", q(id))
		}
		b.WriteString("\n")
	}

	fmt.Fprintf(b, `
if [ -z "$prev" ]; then
  echo "sweep $name: all %d stages finished; nothing submitted"
  echo "reports: $(printf '%%q ' "$bin" run "$config" --workdir "$workdir" --threads "$threads")--report"
  rm -r "$sub"
  exit 0
fi

jid=$(sbatch --parsable ${extra[@]+"${extra[@]}"} \
  --dependency="afterok:$prev" --kill-on-invalid-dep=yes \
  --job-name="$name-report" --cpus-per-task="$threads" \
  --chdir="$workdir" --output="${outdir}%%x-%%j.out" \
  "$sub/report.sh" "$bin" run "$config" --workdir "$workdir" --threads "$threads" --report)
jid=${jid%%%%;*}
echo "report: job $jid, after ${prev//:/ }"
jobs+=("$jid")
echo "sweep $name: submitted $queued_stages of %d stages in $arrays arrays ($done_stages finished), report job $jid; jobs ${jobs[*]}; logs in $logdir"
`, stages, stages)
}
