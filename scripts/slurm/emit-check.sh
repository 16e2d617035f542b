#!/usr/bin/env bash
# Manual check of pipeline.EmitSlurm on a real Slurm; run by hand (CI does
# not), e.g. on the single node of scripts/slurm/start-single-node.sh:
#
#   scripts/slurm/emit-check.sh [ROOT]
#
# It emits a submission script (through TestEmitSlurmWriteScript) for a
# 3-level DAG of 6 stages, a-0 b-0 f-0 | c-1(a-0) e-1(b-0, f-0) | d-2(c-1,
# e-1), whose Binary is a fake privatesnn: a stage checks that its
# dependencies' stage.json exist, sleeps 2 s and writes Workdir/ID/stage.json;
# "--report" writes Workdir/report.txt. Paths contain spaces. Then:
#
#  1. full run: every stage and the report run once, in dependency order;
#  2. scancel: f-0 sleeps 60 s; once a-0 and b-0 are done the level-0
#     array is cancelled; the level 1 and 2 arrays and the report job must be
#     cancelled by --kill-on-invalid-dep (not left pending) and must not run;
#     submitting while the sweep is queued is refused; submitting again
#     after the cancellation runs f-0 and the rest but not a-0 or b-0;
#  3. failure, with PSNN_ARRAY_MAX=2 (level 0 as two arrays, level 1 after
#     both): b-0 fails; the levels above are cancelled; submitting again
#     after the fault is gone completes the sweep;
#  4. a finished sweep submits nothing.
#
# ROOT (default: a new directory under /tmp) must be visible to the nodes.
# Prints "emit-check: ok" at the end, exits 1 at the first failed check.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
root=${1:-$(mktemp -d /tmp/psnn-emit-check.XXXXXX)}
root="$root/emit check"
mkdir -p "$root/bin dir"
echo "emit-check: working in $root"

fail() {
  echo "emit-check: FAIL: $*" >&2
  exit 1
}

# The fake privatesnn. $root/deps has a line "ID DEP..." per stage;
# $root/slow lists IDs that sleep 60 s; $root/fail IDs that fail.
cat > "$root/bin dir/privatesnn" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
[ "$1" = run ] && [ "$3" = --workdir ] || exit 2
workdir=$4 root=$(dirname "$4")
last=${*: -1}
if [ "$last" = --report ]; then
  echo "report start" >> "$workdir/runs.log"
  for d in "$workdir"/*/stage.json; do echo "${d%/stage.json}"; done > "$workdir/report.txt"
  echo "report end" >> "$workdir/runs.log"
  exit 0
fi
id=$last
[ -e "$workdir/$id/stage.json" ] && exit 0
echo "$id start $(date +%s.%N) job ${SLURM_ARRAY_JOB_ID:-}_${SLURM_ARRAY_TASK_ID:-}" >> "$workdir/runs.log"
read -r -a deps <<< "$(awk -v id="$id" '$1 == id' "$root/deps")"
for d in "${deps[@]:1}"; do
  if [ ! -e "$workdir/$d/stage.json" ]; then
    echo "$id: dependency $d not finished" >&2
    exit 1
  fi
done
if grep -qx "$id" "$root/fail" 2>/dev/null; then
  echo "$id: failing as told" >&2
  exit 1
fi
if grep -qx "$id" "$root/slow" 2>/dev/null; then sleep 60; else sleep 2; fi
mkdir -p "$workdir/$id"
echo '{}' > "$workdir/$id/stage.json"
echo "$id end" >> "$workdir/runs.log"
EOF
chmod +x "$root/bin dir/privatesnn"
cat > "$root/deps" <<'EOF'
a-0
b-0
f-0
c-1 a-0
e-1 b-0 f-0
d-2 c-1 e-1
EOF

# emit NAME: writes "$root/NAME.sh" for work directory "$root/NAME work".
emit() {
  local name=$1
  local wd="$root/$1 work"
  mkdir -p "$wd"
  cat > "$root/$name.json" <<EOF
{"Name": "$name", "Binary": "$root/bin dir/privatesnn", "Config": "$root/sweep config.toml",
 "Workdir": "$wd", "Threads": 1, "Jobs": [
  {"ID": "a-0", "Level": 0}, {"ID": "b-0", "Level": 0}, {"ID": "f-0", "Level": 0},
  {"ID": "c-1", "Deps": ["a-0"], "Level": 1}, {"ID": "e-1", "Deps": ["b-0", "f-0"], "Level": 1},
  {"ID": "d-2", "Deps": ["c-1", "e-1"], "Level": 2}]}
EOF
  (cd "$repo" && PSNN_EMIT_SPEC="$root/$name.json" PSNN_EMIT_OUT="$root/$name.sh" \
    go test ./pipeline -run '^TestEmitSlurmWriteScript$' -count=1 > /dev/null)
  bash -n "$root/$name.sh"
}

# submit NAME [VAR=VALUE...]: runs the script; sets jobs to the job IDs it
# printed.
submit() {
  local out
  out=$(env "${@:2}" bash "$root/$1.sh")
  echo "$out" | sed 's/^/  | /'
  jobs=$(echo "$out" | sed -n 's/.*; jobs \(.*\); logs in .*/\1/p')
}

# wait_idle NAME: waits until no job of sweep NAME is queued.
wait_idle() {
  local i
  for i in $(seq 300); do
    [ -z "$(squeue --noheader --name="psnn-$1-L0,psnn-$1-L1,psnn-$1-L2,psnn-$1-report")" ] && return
    sleep 1
  done
  fail "$1: jobs still queued after 300 s"
}

# state JOB: JobState and Reason from scontrol (kept MinJobAge after the end).
state() {
  scontrol show job "$1" | grep -o 'JobState=[A-Z_]* Reason=[^ ]*' | sort -u | tr '\n' ' '
}

# count WORKDIR PREFIX: lines of runs.log that start with PREFIX.
count() { grep -c "^$2" "$1/runs.log" || true; }

# check_done NAME: every stage finished once and the report ran.
check_done() {
  local wd="$root/$1 work" id
  for id in a-0 b-0 f-0 c-1 e-1 d-2; do
    [ -e "$wd/$id/stage.json" ] || fail "$1: no $id/stage.json"
    [ "$(count "$wd" "$id end")" = 1 ] || fail "$1: $id finished $(count "$wd" "$id end") times"
  done
  [ -s "$wd/report.txt" ] || fail "$1: no report.txt"
  [ "$(wc -l < "$wd/report.txt")" = 6 ] || fail "$1: report.txt lists $(wc -l < "$wd/report.txt") stages"
}

sinfo

echo "== 1. full run"
emit full
submit full
read -r -a ids <<< "$jobs"
[ ${#ids[@]} = 4 ] || fail "full: ${#ids[@]} jobs, want 4"
scontrol show job "${ids[1]}" | grep -q "Dependency=afterok:${ids[0]}_\*" ||
  scontrol show job "${ids[1]}" | grep -q "Dependency=afterok:${ids[0]}" ||
  fail "full: level 1 does not depend on ${ids[0]}"
scontrol show job "${ids[1]}" | grep -o 'Dependency=[^ ]*' | sort -u | sed 's/^/  level 1 /'
wait_idle full
check_done full
for j in "${ids[@]}"; do echo "  job $j: $(state "$j")"; done
# Order: every start comes after its dependencies' ends (the fake checks it
# too, failing otherwise); print the log.
sed 's/^/  runs.log: /' "$root/full work/runs.log"
ls "$root/full work/slurm" | grep '\.out$' | sed 's/^/  log: /'

echo "== 2. scancel"
emit cancel
echo f-0 > "$root/slow"
submit cancel
read -r -a ids <<< "$jobs"
[ ${#ids[@]} = 4 ] || fail "cancel: ${#ids[@]} jobs, want 4"
if bash "$root/cancel.sh" > "$root/refused.txt" 2>&1; then
  fail "cancel: a second submission while queued was accepted"
fi
grep -q "still queued" "$root/refused.txt" || fail "cancel: second submission: $(cat "$root/refused.txt")"
echo "  second submission refused: $(head -n 1 "$root/refused.txt")"
wd="$root/cancel work"
for i in $(seq 120); do
  [ -e "$wd/a-0/stage.json" ] && [ -e "$wd/b-0/stage.json" ] && [ "$(count "$wd" "f-0 start")" = 1 ] && break
  [ "$i" = 120 ] && fail "cancel: a-0, b-0 not done, f-0 not started after 120 s"
  sleep 1
done
squeue --name="psnn-cancel-L0,psnn-cancel-L1,psnn-cancel-L2,psnn-cancel-report" | sed 's/^/  before scancel | /'
scancel "${ids[0]}"
echo "  scancel ${ids[0]}"
wait_idle cancel
squeue --name="psnn-cancel-L0,psnn-cancel-L1,psnn-cancel-L2,psnn-cancel-report" | sed 's/^/  after | /'
for j in "${ids[@]}"; do
  s=$(state "$j")
  echo "  job $j: $s"
  case $s in *CANCELLED*) ;; *) fail "cancel: job $j not cancelled: $s" ;; esac
done
for w in "c-1 start" "e-1 start" "d-2 start" "report start" "f-0 end"; do
  [ "$(count "$wd" "$w")" = 0 ] || fail "cancel: '$w' in runs.log after scancel"
done
rm "$root/slow"
submit cancel
read -r -a ids <<< "$jobs"
[ ${#ids[@]} = 4 ] || fail "cancel resubmission: ${#ids[@]} jobs, want 4"
grep -qx f-0 "$wd"/slurm/submit-*/level-0.ids || fail "cancel: level 0 resubmitted without f-0"
wait_idle cancel
check_done cancel
for id in a-0 b-0; do
  [ "$(count "$wd" "$id start")" = 1 ] || fail "cancel: $id ran again"
done
sed 's/^/  runs.log: /' "$wd/runs.log"

echo "== 3. failure"
emit failure
echo b-0 > "$root/fail"
submit failure PSNN_ARRAY_MAX=2
read -r -a ids <<< "$jobs"
[ ${#ids[@]} = 5 ] || fail "failure: ${#ids[@]} jobs, want 5"
dep=$(scontrol show job "${ids[2]}" | grep -o 'Dependency=[^ ]*' | sort -u)
echo "  level 1 $dep"
case $dep in *"afterok:${ids[0]}_*"*":${ids[1]}_*"*) ;; *) fail "failure: level 1 $dep" ;; esac
wait_idle failure
for j in "${ids[@]}"; do echo "  job $j: $(state "$j")"; done
case $(state "${ids[0]}") in *FAILED*) ;; *) fail "failure: level 0 not FAILED" ;; esac
# ids[1], level 0's second array (f-0), completes; the levels above are
# cancelled.
for j in "${ids[@]:2}"; do
  case $(state "$j") in *CANCELLED*) ;; *) fail "failure: job $j not cancelled" ;; esac
done
for w in "c-1 start" "e-1 start" "d-2 start" "report start"; do
  [ "$(count "$root/failure work" "$w")" = 0 ] || fail "failure: '$w' in runs.log"
done
rm "$root/fail"
submit failure PSNN_ARRAY_MAX=2
wait_idle failure
check_done failure

echo "== 4. finished sweep"
out=$(bash "$root/failure.sh")
echo "$out" | sed 's/^/  | /'
case $out in *"nothing submitted"*) ;; *) fail "finished sweep submitted jobs" ;; esac

echo "emit-check: ok"
