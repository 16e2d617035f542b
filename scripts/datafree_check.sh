#!/usr/bin/env bash
# datafree_check.sh [convert|quantise] ANN SYNTH OUT [FLAGS…]
#
# Runs `privatesnn convert` (or `quantise`) under strace and checks which
# files it opened: every file opened must lie in the ANN's directory, the
# synthetic set's directory or OUT, be a model card or weights file of a
# model the ANN's card leads to (a QCFS ANN's parent), or be one the process
# needs to start (the binary, shared libraries, /proc, /sys, /dev, /etc, the
# Go and locale runtime files). Any other file — a data set above all —
# fails the check, and the script prints it. PSNN names the binary (default privatesnn); strace must be installed
# (Debian: apt-get install strace).
set -euo pipefail
cmd=convert
if [ "${1:-}" = convert ] || [ "${1:-}" = quantise ]; then
	cmd=$1
	shift
fi
if [ $# -lt 3 ]; then
	echo "usage: $0 [convert|quantise] ANN SYNTH OUT [FLAGS…]" >&2
	exit 2
fi
ann=$(realpath "$1") synth=$(realpath "$2") out=$(realpath -m "$3")
shift 3
psnn=$(command -v "${PSNN:-privatesnn}")
trace=$(mktemp)
trap 'rm -f "$trace"' EXIT
strace -f -qq -e trace=open,openat,openat2 -e signal=none -o "$trace" \
	"$psnn" "$cmd" --model "$ann" --synth "$synth" --out "$out" --quiet "$@" > /dev/null
# The path is the first quoted argument of every successful open.
opened=$(grep -v ' = -1 ' "$trace" | sed -n 's/^[0-9]* *open[a-z0-9]*([^"]*"\([^"]*\)".*/\1/p' | sort -u)
bad=0
while IFS= read -r p; do
	[ -z "$p" ] && continue
	r=$(realpath -m "$p")
	case "$r" in
	"$ann" | "$ann"/* | "$synth" | "$synth"/* | "$out" | "$out"/* | "$(dirname "$out")") ;;
	*/model.json | */model.safetensors) ;;
	"$(realpath "$psnn")" | /proc/* | /sys/* | /dev/* | /etc/* | /lib/* | /lib64/* | /usr/lib/* | /usr/share/zoneinfo/*) ;;
	*)
		echo "datafree-check: $cmd opened $r" >&2
		bad=1
		;;
	esac
done <<< "$opened"
n=$(printf '%s\n' "$opened" | grep -c . || true)
if [ "$bad" -ne 0 ]; then
	echo "datafree-check: FAILED" >&2
	exit 1
fi
echo "datafree-check: ok ($n distinct paths opened, all inputs, output or runtime files)"
