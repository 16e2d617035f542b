#!/usr/bin/env bash
# Scores `privatesnn encrypt` settings on a validation split: the first
# 10,000 Fashion-MNIST training images, which encryption never reads (it is
# data-free) and the test set is not. Each setting runs with seeds 0, 1, 2.
#
#   scripts/encrypt_validation.sh DC_MODEL SYNTH OUT_DIR [SETTINGS_FILE]
#
# SETTINGS_FILE has one setting per line: a name, then encrypt flags.
# Without it, the defaults and the defaults without mixup are scored.
# Prints one line per run: name-seed and validation accuracy.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 DC_MODEL SYNTH OUT_DIR [SETTINGS_FILE]" >&2
  exit 2
fi
dc=$1 syn=$2 out=$3
settings=${4:-}
psnn=${PSNN:-privatesnn}
mkdir -p "$out"
if [ -z "$settings" ]; then
  settings=$out/settings.txt
  printf 'defaults\nno-mixup --mixup=false\n' > "$settings"
fi
while read -r name flags; do
  [ -z "$name" ] && continue
  for seed in 0 1 2; do
    dir=$out/$name-s$seed
    # shellcheck disable=SC2086 # flags are words
    "$psnn" encrypt --model "$dc" --synth "$syn" --seed "$seed" $flags --out "$dir" --quiet --force > /dev/null
    "$psnn" eval --model "$dir" --data fashion-mnist --split train --limit 10000 --quiet --json > "$dir.val.json"
    acc=$(sed -n 's/.*"accuracy": *\([0-9.]*\).*/\1/p' "$dir.val.json" | head -1)
    echo "$name-s$seed $acc"
  done
done < "$settings"
