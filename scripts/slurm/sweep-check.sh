#!/usr/bin/env bash
# Runs one sweep three ways and compares them; run by hand (CI does not), on
# a machine with a single-node Slurm (scripts/slurm/start-single-node.sh):
#
#   scripts/slurm/sweep-check.sh CONFIG ROOT [SEED]
#
#  1. ROOT/seq:   privatesnn run CONFIG --threads $SEQ_THREADS (default: all
#                 cores), one stage at a time;
#  2. ROOT/jobs:  privatesnn run CONFIG --jobs 2 (1 thread per stage, as
#                 CONFIG's threads must say);
#  3. ROOT/slurm: privatesnn run CONFIG --emit slurm, submitted; the first
#                 encrypt task still running after $CANCEL_AFTER s (default
#                 30) is scancelled, the script waits until Slurm has
#                 cancelled the stages that need it (the rest of its level
#                 runs on), records every finished stage.json, and submits
#                 again; at the end no finished stage may have been run
#                 again.
# SKIP_SEQ=1 or SKIP_JOBS=1 leave out step 1 or 2.
# Then every artifact of jobs and slurm is compared (models, synthetic
# sets byte for byte; JSON results without times, hosts and paths), and
# the two summary reports' tables. SEED, when given, is a work directory
# whose finished stages are copied into jobs and slurm first (SEED_SEQ:
# into seq), so that stages shared by every point and computed before are
# not timed; the copies are ordinary cached stages (same hash, same
# directory name). Wall times go to ROOT/times.txt. Exits 1 at the first
# failed check; prints "sweep-check: ok" at the end.
set -euo pipefail

config=$(realpath "$1")
root=$(realpath -m "$2")
seed=${3:-}
repo=$(cd "$(dirname "$0")/../.." && pwd)
psnn=${PRIVATESNN:-$repo/privatesnn}
[ -x "$psnn" ] || { echo "sweep-check: build privatesnn first (go build -o privatesnn ./cmd/privatesnn) or set PRIVATESNN" >&2; exit 1; }
mkdir -p "$root"
times="$root/times.txt"
fail() { echo "sweep-check: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
seedinto() { # copies the finished stages of $1 into $2
  [ -n "$1" ] || return 0
  mkdir -p "$2"
  for d in "$1"/*/; do
    [ -e "$d/stage.json" ] && cp -a "${d%/}" "$2/"
  done
  return 0
}

# 1. One stage at a time.
if [ "${SKIP_SEQ:-}" != 1 ]; then
  seedinto "${SEED_SEQ:-}" "$root/seq"
  t0=$(now)
  "$psnn" run "$config" --workdir "$root/seq" --threads "${SEQ_THREADS:-0}" --quiet > "$root/seq.out"
  echo "seq $(echo "$(now) - $t0" | bc) s" | tee -a "$times"
fi

# 2. --jobs 2.
if [ "${SKIP_JOBS:-}" != 1 ]; then
  seedinto "$seed" "$root/jobs"
  t0=$(now)
  "$psnn" run "$config" --workdir "$root/jobs" --jobs 2 --quiet > "$root/jobs.out"
  echo "jobs2 $(echo "$(now) - $t0" | bc) s" | tee -a "$times"
fi

# 3. Slurm, with a scancel and a re-submission.
seedinto "$seed" "$root/slurm"
queued() { squeue --noheader --user="$(id -un)" --format='%i %j %T %M' | grep ' psnn-' || true; }
seconds() { # squeue's elapsed time ([[D-]H:]M:S) in seconds
  echo "$1" | awk -F'[-:]' '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'
}
t0=$(now)
"$psnn" run "$config" --workdir "$root/slurm" --emit slurm > "$root/submit.sh"
bash "$root/submit.sh" > "$root/submit1.out"
cancelled=""
while [ -n "$(queued)" ]; do
  if [ -z "$cancelled" ]; then
    # An encryption task that has run CANCEL_AFTER s (default 30) and is
    # not finished: the short ones (10 or 50 images per class) end sooner.
    while read -r jobid name state elapsed; do
      [ "$state" = RUNNING ] && [ "$(seconds "$elapsed")" -ge "${CANCEL_AFTER:-30}" ] || continue
      log="$root/slurm/slurm/$name-$jobid.out"
      id=$(sed -n 's/^stage \(encrypt[a-z-]*-[0-9a-f]\{12\}\) (task.*/\1/p' "$log" 2> /dev/null | head -1)
      [ -n "$id" ] && [ ! -e "$root/slurm/$id/stage.json" ] || continue
      scancel "$jobid"
      cancelled="$jobid $id"
      echo "scancel $jobid ($id, running for $elapsed) at $(echo "$(now) - $t0" | bc) s" | tee -a "$times"
      break
    done < <(queued)
  fi
  sleep 2
done
[ -n "$cancelled" ] || fail "no encrypt task was seen running to cancel"
[ ! -e "$root/slurm/${cancelled#* }/stage.json" ] || fail "the cancelled stage ${cancelled#* } finished"
# Every finished stage, with its record's time, before the re-submission.
(cd "$root/slurm" && for f in */stage.json; do echo "$f $(stat -c %Y.%y "$f")"; done) > "$root/done-before.txt"
echo "$(wc -l < "$root/done-before.txt") stages finished before the re-submission" | tee -a "$times"
"$psnn" run "$config" --workdir "$root/slurm" --emit slurm > "$root/submit2.sh"
bash "$root/submit2.sh" > "$root/submit2.out"
while [ -n "$(queued)" ]; do sleep 2; done
echo "slurm $(echo "$(now) - $t0" | bc) s (with the cancel and the re-submission)" | tee -a "$times"
while read -r f stamp; do
  [ "$(cd "$root/slurm" && stat -c %Y.%y "$f")" = "$stamp" ] || fail "$f was written again after the re-submission"
done < "$root/done-before.txt"
[ -e "$root/slurm/report/report.md" ] || fail "Slurm made no report"
"$psnn" run "$config" --workdir "$root/slurm" --plan | grep -q '^\([0-9]*\) of \1 stages done$' || fail "stages left after Slurm"

# Compare jobs and slurm.
python3 - "$root/jobs" "$root/slurm" <<'EOF'
import json, os, re, sys
a, b = sys.argv[1], sys.argv[2]
# Keys whose values depend on the run, not on the artifact; the work
# directory's path is replaced in every string.
vary = re.compile(r'(seconds|second|time|finished|started|host|rss|software|dir|path|^out$|log)', re.I)
def strip(v, root):
    if isinstance(v, dict):
        return {k: strip(x, root) for k, x in v.items() if not vary.search(k)}
    if isinstance(v, list):
        return [strip(x, root) for x in v]
    if isinstance(v, str):
        return v.replace(root, 'WORKDIR')
    return v
stages = sorted(d for d in os.listdir(a) if os.path.exists(os.path.join(a, d, 'stage.json')))
other = sorted(d for d in os.listdir(b) if os.path.exists(os.path.join(b, d, 'stage.json')))
if stages != other:
    sys.exit(f'sweep-check: FAIL: stage sets differ: {sorted(set(stages) ^ set(other))}')
files = same = 0
for d in stages:
    for dirpath, _, names in os.walk(os.path.join(a, d)):
        for n in names:
            if n in ('.lock',) or n.endswith('.log'):
                continue
            pa = os.path.join(dirpath, n)
            pb = os.path.join(b, os.path.relpath(pa, a))
            if not os.path.exists(pb):
                sys.exit(f'sweep-check: FAIL: {pb} missing')
            files += 1
            if n.endswith('.json'):
                ja, jb = strip(json.load(open(pa)), a), strip(json.load(open(pb)), b)
                if ja != jb:
                    sys.exit(f'sweep-check: FAIL: {os.path.relpath(pa, a)} differs (times, hosts and paths aside)')
            elif open(pa, 'rb').read() != open(pb, 'rb').read():
                sys.exit(f'sweep-check: FAIL: {os.path.relpath(pa, a)} differs')
            same += 1
def tables(path):
    text = open(path).read()
    return [l for l in text.splitlines() if l.startswith('|') and not re.search(r'(seconds|started|command|software|backend|/)', l, re.I)]
ta, tb = tables(os.path.join(a, 'report', 'report.md')), tables(os.path.join(b, 'report', 'report.md'))
if ta != tb:
    sys.exit('sweep-check: FAIL: the summary reports\' tables differ')
print(f'{len(stages)} stages, {same} files identical (JSON without times, hosts, paths); {len(ta)} summary table rows identical')
EOF
echo "sweep-check: ok"
