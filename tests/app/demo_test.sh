#!/usr/bin/env bash
# Smoke test of `ftvm demo` (the README's first command): it exits 0 after printing a FAILOVER
# and a non-empty info_checkpoint table, within a minute, leaving no process and no work
# directory behind; interrupted (SIGINT) mid-run it also cleans up, with status 130.
# Usage: demo_test.sh PATH/TO/ftvm. Exits 77 (ctest: skipped) without a usable /dev/kvm.
set -uo pipefail
ftvm=$1
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
  echo "SKIPPED: no usable /dev/kvm"
  exit 77
fi
tmp=$(mktemp -d)
trap 'pkill -KILL -f "$tmp/ftvm-demo" 2>/dev/null; rm -rf "$tmp"' EXIT
export TMPDIR=$tmp  # the demo's work directory lands here, so leftovers are visible
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
leftovers() {  # what a demo run must not leave behind
  if ls -d "$tmp"/ftvm-demo.* >/dev/null 2>&1; then fail "$1: work directory left behind"; fi
  if pgrep -f "$tmp/ftvm-demo" >/dev/null; then fail "$1: daemons left running"; fi
}

start=$SECONDS
"$ftvm" demo --duration 5s --run-on 2s --mem 128M >"$tmp/out" 2>&1
status=$?
elapsed=$((SECONDS - start))
sed 's/^/  | /' "$tmp/out"
[ "$status" -eq 0 ] || fail "ftvm demo exit status $status"
grep -q " FAILOVER " "$tmp/out" || fail "no FAILOVER event printed"
grep -q "the guest runs on" "$tmp/out" || fail "no sign of the guest running on"
grep -Eq "^ *checkpoints +[1-9][0-9]* +total" "$tmp/out" || fail "no non-empty info_checkpoint table"
grep -Eq "^ *downtime +" "$tmp/out" || fail "the stats table has no downtime row"
[ "$elapsed" -lt 60 ] || fail "the demo took ${elapsed} s (should be well under a minute)"
leftovers "after the demo"
echo "demo: status $status in ${elapsed} s"

# Ctrl-C in the middle: status 130, everything stopped and removed.
"$ftvm" demo --duration 60s >"$tmp/out2" 2>&1 &
pid=$!
for _ in $(seq 300); do grep -q "protected" "$tmp/out2" && break; sleep 0.1; done
grep -q "protected" "$tmp/out2" || fail "interrupted run never reached COLO mode"
kill -INT "$pid"
wait "$pid"
status=$?
sed 's/^/  | /' "$tmp/out2"
[ "$status" -eq 130 ] || fail "interrupted demo exit status $status, expected 130"
leftovers "after Ctrl-C"

echo "$failures failed"
[ "$failures" -eq 0 ]
