#!/usr/bin/env bash
# End-to-end checks of the `ftvm` binary: exit statuses, snapshot and restore.
# Usage: cli_test.sh PATH/TO/ftvm. Exits 77 (ctest: skipped) without a usable /dev/kvm.
set -uo pipefail
ftvm=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
expect() {  # expect STATUS DESCRIPTION command...
  local want=$1 what=$2; shift 2
  "$@" >"$tmp/out" 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; sed 's/^/    /' "$tmp/out"; failures=$((failures + 1))
  else
    echo "ok: $what"
  fi
}

expect 0 "help" "$ftvm" --help
expect 64 "unknown flag" "$ftvm" run --bogus
expect 0 "guest list" "$ftvm" guests
grep -q dirtier "$tmp/out" || { echo "FAIL: guests does not list dirtier"; failures=$((failures + 1)); }
# --config: keys are long flag names; the command line wins; unknown keys are usage errors.
printf 'peer = "tcp://127.0.0.1:9"\nmem = "3M"\n' >"$tmp/p.toml"
expect 64 "config file value used" "$ftvm" primary --config "$tmp/p.toml"
grep -q "RAM size 3145728" "$tmp/out" || { echo "FAIL: --config mem not applied"; cat "$tmp/out"; failures=$((failures + 1)); }
expect 64 "command line overrides the config file" "$ftvm" primary --config "$tmp/p.toml" --mem 5M
grep -q "RAM size 5242880" "$tmp/out" || { echo "FAIL: --mem did not win"; cat "$tmp/out"; failures=$((failures + 1)); }
printf '[secondary]\nlisten = "tcp://127.0.0.1:9"\n[primary]\npeer = "tcp://127.0.0.1:9"\nmem = "3M"\n' >"$tmp/both.toml"
expect 64 "sections per daemon" "$ftvm" primary --config "$tmp/both.toml"
grep -q "RAM size 3145728" "$tmp/out" || { echo "FAIL: [primary] section not applied"; cat "$tmp/out"; failures=$((failures + 1)); }
printf 'peer = "tcp://127.0.0.1:9"\nbogus = 1\n' >"$tmp/bad.toml"
expect 64 "unknown config key" "$ftvm" primary --config "$tmp/bad.toml"
grep -q "bogus" "$tmp/out" || { echo "FAIL: unknown key not named"; cat "$tmp/out"; failures=$((failures + 1)); }
expect 64 "missing config file" "$ftvm" primary --config "$tmp/none.toml"
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
  echo "SKIPPED: no usable /dev/kvm"
  exit 77
fi
expect 0 "counter runs to completion" "$ftvm" run -g counter -q -- iterations=1000000
expect 64 "unknown guest" "$ftvm" run -g nope
expect 64 "bad RAM size" "$ftvm" run -m 3M
expect 124 "timeout" "$ftvm" run -g counter -q --timeout 300ms
expect 75 "crashing guest" "$ftvm" run -g counter -q -- crash=1
expect 3 "guest exit code passes through" "$ftvm" run -g dirtier -q -- start=1G
expect 0 "snapshot" "$ftvm" run -g counter -q --snapshot "$tmp/c.snap" --snapshot-after 300ms \
  -- interval_ms=50
expect 124 "restore and continue" "$ftvm" restore "$tmp/c.snap" --timeout 300ms
printf 'garbage' >"$tmp/bad.snap"
expect 65 "corrupt snapshot refused" "$ftvm" restore "$tmp/bad.snap"
expect 74 "missing snapshot" "$ftvm" restore "$tmp/missing.snap"

# `ftvm run --control`: query-status and query-guest over QMP, checkpoint commands refused,
# quit ends the run with status 0.
"$ftvm" run -g counter -q --control "$tmp/run.sock" -- interval_ms=20 >"$tmp/run.out" 2>&1 &
run_pid=$!
for _ in $(seq 100); do [ -S "$tmp/run.sock" ] && break; sleep 0.1; done
expect 0 "run: query-status" "$ftvm" ctl --json "$tmp/run.sock" query-status
grep -qF '"status":"running"' "$tmp/out" || { echo "FAIL: run not running:"; cat "$tmp/out"; failures=$((failures + 1)); }
expect 0 "run: query-guest" "$ftvm" ctl --json "$tmp/run.sock" query-guest
grep -qF '"present":true' "$tmp/out" || { echo "FAIL: query-guest:"; cat "$tmp/out"; failures=$((failures + 1)); }
expect 1 "run: no checkpoint engine" "$ftvm" ctl "$tmp/run.sock" info_checkpoint
grep -qF "not available in this process" "$tmp/out" || { echo "FAIL: refusal:"; cat "$tmp/out"; failures=$((failures + 1)); }
expect 0 "run: quit" "$ftvm" ctl "$tmp/run.sock" quit
wait "$run_pid"
rc=$?
if [ "$rc" -ne 0 ]; then echo "FAIL: run after quit: exit $rc"; cat "$tmp/run.out"; failures=$((failures + 1)); else echo "ok: run ends on quit"; fi
echo "$failures failed"
[ "$failures" -eq 0 ]
