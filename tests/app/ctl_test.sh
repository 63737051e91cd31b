#!/usr/bin/env bash
# End-to-end checks of `ftvm ctl` against a stand-in daemon (tests/control/ctl_test_daemon):
# tables, --json, typed arguments, exit statuses, watch with events, watch ending with the
# process, quit.
# Usage: ctl_test.sh PATH/TO/ftvm PATH/TO/ctl_test_daemon
set -uo pipefail
ftvm=$1
daemon=$2
tmp=$(mktemp -d)
sock=$tmp/qmp.sock
mkfifo "$tmp/ready" "$tmp/watch"
"$daemon" "$sock" >"$tmp/ready" 2>"$tmp/daemon.log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
read -r -t 20 line <"$tmp/ready" || { echo "FAIL: daemon did not start"; cat "$tmp/daemon.log"; exit 1; }

failures=0
expect() {  # expect STATUS DESCRIPTION command...
  local want=$1 what=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; sed 's/^/    /' "$tmp/out" "$tmp/err"
    failures=$((failures + 1))
  else
    echo "ok: $what"
  fi
}
contains() {  # contains FILE TEXT DESCRIPTION
  grep -qF -- "$2" "$1" || { echo "FAIL: $3: no '$2' in:"; sed 's/^/    /' "$1"; failures=$((failures + 1)); }
}

expect 0 "query-version" "$ftvm" ctl "$sock" query-version
contains "$tmp/out" "package" "query-version table"
expect 0 "info_checkpoint table" "$ftvm" ctl "$sock" info_checkpoint
contains "$tmp/out" "checkpoints  10" "info_checkpoint table"
contains "$tmp/out" "downtime" "info_checkpoint table"
expect 0 "info_checkpoint --json" "$ftvm" ctl --json "$sock" info_checkpoint
contains "$tmp/out" '"tot_num":10' "info_checkpoint json"
expect 0 "set-parameters typed" "$ftvm" ctl "$sock" set-parameters checkpoint-delay=20 pinned-budget=1G
contains "$tmp/out" "ok" "set-parameters"
expect 0 "query-parameters --json" "$ftvm" ctl "$sock" query-parameters --json
contains "$tmp/out" '"checkpoint-delay":20' "parameters applied"
contains "$tmp/out" '"pinned-budget":1073741824' "size suffix typed"
expect 64 "out of range" "$ftvm" ctl "$sock" set-parameters checkpoint-delay=0
contains "$tmp/err" "expects an integer in the range of 1 to 600000" "range error"
expect 64 "wrong type" "$ftvm" ctl "$sock" set-parameters checkpoint-delay=20ms
expect 64 "unknown command" "$ftvm" ctl "$sock" frobnicate
contains "$tmp/err" "CommandNotFound" "unknown command error"
expect 64 "word without =" "$ftvm" ctl "$sock" set-parameters checkpoint-delay
expect 1 "refused command" "$ftvm" ctl "$sock" trace-event-set-state name=no_such_event enable=true
contains "$tmp/err" "GenericError" "refusal printed"
expect 0 "JSON object arguments" "$ftvm" ctl "$sock" trace-event-set-state '{"name": "none_*", "enable": true}'
expect 69 "no such socket" "$ftvm" ctl "$tmp/missing.sock" query-status
expect 0 "watch, two polls" "$ftvm" ctl "$sock" watch --count 2 --interval 100ms
[ "$(grep -c checkpoints "$tmp/out")" -eq 2 ] || { echo "FAIL: watch printed:"; cat "$tmp/out"; failures=$((failures + 1)); }

# An event reaches a running watch: wait for its first line (it has negotiated by then).
"$ftvm" ctl "$sock" watch --count 3 --interval 300ms >"$tmp/watch" &
watch_pid=$!
exec 3<"$tmp/watch"
read -r -t 20 first <&3 || { echo "FAIL: watch printed nothing"; failures=$((failures + 1)); }
expect 0 "checkpoint-now" "$ftvm" ctl "$sock" checkpoint-now
cat <&3 >"$tmp/watched"
exec 3<&-
wait "$watch_pid" || { echo "FAIL: watch exit status"; failures=$((failures + 1)); }
contains "$tmp/watched" "CHECKPOINT num=1" "event in watch"

# Ctrl-C (SIGINT; SIGTERM alike) ends a watch cleanly.
"$ftvm" ctl "$sock" watch --interval 100ms >"$tmp/watch3" 2>&1 &
watch_pid=$!
sleep 0.5
kill -TERM "$watch_pid"
if wait "$watch_pid"; then echo "ok: watch ends on a signal"; else
  echo "FAIL: watch exit status $? after SIGTERM"; failures=$((failures + 1)); fi

# A watch without --count ends by itself (status 0) when the process goes away.
"$ftvm" ctl "$sock" watch --interval 100ms >"$tmp/watch2" 2>&1 &
watch_pid=$!
sleep 0.5
expect 0 "quit" "$ftvm" ctl "$sock" quit
for _ in $(seq 50); do kill -0 "$watch_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$watch_pid" 2>/dev/null; then
  echo "FAIL: watch still running after the process quit"; kill "$watch_pid"; failures=$((failures + 1))
elif ! wait "$watch_pid"; then
  echo "FAIL: watch exit status after quit"; failures=$((failures + 1))
else
  contains "$tmp/watch2" "went away" "watch says why it ended"
fi
wait "$pid" || { echo "FAIL: daemon exit status $?"; failures=$((failures + 1)); }
echo "$failures failed"
[ "$failures" -eq 0 ]
