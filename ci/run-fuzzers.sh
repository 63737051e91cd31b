#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR/fuzz for SECONDS each, starting from the seed corpus
# in fuzz/corpus/<target>/ (if any), JOBS targets at a time (default: one per core). Crashes are
# kept in BUILD_DIR/fuzz-artifacts/, each target's log in BUILD_DIR/fuzz-artifacts/NAME.log.
# The tcp provider's frame decoder (the one parser an unauthenticated peer reaches first) gets
# twice as long: ~60 s with the default.
set -euo pipefail
build=${1:?build dir}
seconds=${2:-30}
jobs=${3:-$(nproc)}
cd "$(dirname "$0")/.."
mkdir -p "$build/fuzz-artifacts"

run_one() {  # run_one BIN: fuzz one target; prints one status line, exit 1 on a finding
  local bin=$1 name corpus secs=$seconds
  name=$(basename "$bin")
  [ "$name" = tcp_frame_fuzz ] && secs=$((seconds * 2))
  corpus="$build/fuzz-corpus/$name"
  mkdir -p "$corpus"
  local seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds=("fuzz/corpus/$name")
  if ! "$bin" -max_total_time="$secs" -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-artifacts/$name-" "$corpus" "${seeds[@]}" \
       >"$build/fuzz-artifacts/$name.log" 2>&1; then
    echo "fuzz: $name FAILED"; tail -40 "$build/fuzz-artifacts/$name.log"; return 1
  fi
  echo "fuzz: $name ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' \
    "$build/fuzz-artifacts/$name.log" | grep -Eo '[0-9]+$' || echo '?') runs in ${secs}s)"
}
export -f run_one
export build seconds

bins=()
for bin in "$build"/fuzz/*_fuzz; do
  [ -x "$bin" ] && bins+=("$bin")
done
[ ${#bins[@]} -gt 0 ] || { echo "fuzz: no fuzz targets built"; exit 1; }
echo "fuzz: ${#bins[@]} targets, ${seconds}s each, $jobs at a time"
printf '%s\0' "${bins[@]}" | xargs -0 -n1 -P"$jobs" bash -c 'run_one "$1"' _
