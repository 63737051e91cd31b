#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR/fuzz for SECONDS each, starting from the seed corpus
# in fuzz/corpus/<target>/ (if any). Crashes are kept in BUILD_DIR/fuzz-artifacts/.
set -euo pipefail
build=${1:?build dir}
seconds=${2:-60}
cd "$(dirname "$0")/.."
mkdir -p "$build/fuzz-artifacts"
status=0
found=0
for bin in "$build"/fuzz/*_fuzz; do
  [ -x "$bin" ] || continue
  found=1
  name=$(basename "$bin")
  corpus="$build/fuzz-corpus/$name"
  mkdir -p "$corpus"
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds=("fuzz/corpus/$name")
  echo "fuzz: $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-artifacts/$name-" "$corpus" "${seeds[@]}" \
       >"$build/fuzz-artifacts/$name.log" 2>&1; then
    echo "fuzz: $name FAILED"; tail -40 "$build/fuzz-artifacts/$name.log"; status=1
  else
    grep -E 'stat::number_of_executed_units|Done' "$build/fuzz-artifacts/$name.log" | tail -2
  fi
done
[ $found -eq 1 ] || { echo "fuzz: no fuzz targets built"; exit 1; }
exit $status
