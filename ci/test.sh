#!/usr/bin/env bash
# The project's test command (README): installs what is missing, then runs every check CI runs.
#
#   ci/test.sh            everything: build + all ctest labels this machine supports, ASan+UBSan
#                         unit tests and fuzzers (one clang build), TSan threaded tests, format,
#                         layering, Soft-RoCE lane
#   FTVM_CI_FAST=1 ...    skips the sanitizer builds, fuzzing and the Soft-RoCE lane (dev loop)
#
# Exit status is non-zero if any stage fails; every stage runs and reports, then a summary.
# (VAR=value before `stage` sets VAR for that stage only: bash applies such assignments to
# shell functions for their duration.)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)
fast=${FTVM_CI_FAST:-0}
fuzz_seconds=${FTVM_FUZZ_SECONDS:-30}

declare -a summary=()
failed=0
stage() {  # stage NAME command...
  local name=$1; shift
  local start=$SECONDS
  echo "=== [$name] $*"
  if "$@"; then
    summary+=("ok    $name ($((SECONDS - start)) s)")
  else
    summary+=("FAIL  $name ($((SECONDS - start)) s)")
    failed=1
  fi
}

configure_build() {  # dir cmake-args... ; builds target list from $TARGETS (default: all)
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G Ninja -DFTVM_WERROR=ON "$@" >/dev/null &&
    ninja -C "$dir" -j"$jobs" ${TARGETS:-}
}

run_ctest() {  # dir [ctest args]
  local dir=$1; shift
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j1 "$@"
}

ci/install-deps.sh || { echo "cannot install dependencies"; exit 1; }
stage layering ci/check-layering.sh
stage format ci/check-format.sh
stage build configure_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
# Every label: kvm tests skip with a message where /dev/kvm is missing; rdma tests skip without
# a verbs device (they run for real in the Soft-RoCE lane).
stage test run_ctest build

if [ "$fast" != 1 ]; then
  # One clang build with ASan+UBSan serves the unit tests and the fuzzers (one compile of the
  # libraries instead of two).
  CC=clang-19 CXX=clang++-19 TARGETS="tests_unit fuzzers" stage asan-build configure_build \
    build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFTVM_SANITIZE=address,undefined -DFTVM_FUZZ=ON
  stage asan-test run_ctest build-asan -L unit
  stage fuzz-run ci/run-fuzzers.sh build-asan "$fuzz_seconds"
  TARGETS=tests_threads stage tsan-build configure_build build-tsan \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFTVM_SANITIZE=thread -DFTVM_BUILD_BENCH=OFF
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" stage tsan-test \
    run_ctest build-tsan -L threads
  if [ -x ci/softroce/run.sh ]; then
    stage softroce ci/softroce/run.sh build
  fi
fi

echo
echo "=== summary"
printf '  %s\n' "${summary[@]}"
exit $failed
