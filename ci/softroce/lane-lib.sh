# Runs lane entries and reports them in the lane's line protocol (POSIX sh: sourced by the
# guest's busybox /init and by native.sh):
#
#   FTVM-LANE BEGIN <name>
#   FTVM-LANE RESULT <name> PASS|FAIL|TIMEOUT|SKIPPED|NOTESTS rc=<n> seconds=<n>
#   FTVM-LANE END results=<n>
#
# A gtest entry passes only if it exits 0, ran at least one test and skipped none: the lane
# exists to run device tests for real, so a skip (no device) is a failure here.

lane_results=0
lane_failures=0
mark() { printf '\nFTVM-LANE %s\n' "$*"; }

# run_entry KIND NAME TIMEOUT_S COMMAND...   (KIND: gtest or cmd)
run_entry() {
  kind=$1 name=$2 limit=$3
  shift 3
  mark "BEGIN $name"
  start=$(date +%s)
  log=${TMPDIR:-/tmp}/ftvm-lane-$name.log
  rm -f "$log.rc"
  { timeout -s KILL "$limit" "$@" </dev/null 2>&1; echo $? >"$log.rc"; } | tee "$log"
  rc=$(cat "$log.rc" 2>/dev/null || echo 255)
  seconds=$(($(date +%s) - start))
  status=PASS
  if [ "$rc" != 0 ] && [ "$seconds" -ge "$limit" ]; then
    status=TIMEOUT
  elif [ "$rc" != 0 ]; then
    status=FAIL
  elif [ "$kind" = gtest ]; then
    if grep -qE '^\[  SKIPPED \] [0-9]+ tests?,' "$log"; then
      status=SKIPPED
    elif ! grep -qE '^\[  PASSED  \] [1-9][0-9]* tests?\.' "$log"; then
      status=NOTESTS
    fi
  fi
  lane_results=$((lane_results + 1))
  [ "$status" = PASS ] || lane_failures=$((lane_failures + 1))
  mark "RESULT $name $status rc=$rc seconds=$seconds"
}
