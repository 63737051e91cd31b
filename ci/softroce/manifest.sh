# Reads the lane's test list (tests.sh) into arrays; sourced by run.sh and native.sh (bash).
#
#   lane_kinds[i]    cmd | gtest
#   lane_names[i]    entry name (unique)
#   lane_entries[i]  the shell line that runs entry i through run_entry (lane-lib.sh); binaries
#                    are named "$LANE_BIN/NAME", expanded where the entry runs
#   lane_binaries    every binary the entries need from the build directory (tests and helpers)
# FTVM_SOFTROCE_FILTER, when set, is passed to every gtest entry as --gtest_filter.

lane_kinds=()
lane_names=()
lane_entries=()
lane_binaries=()

lane_squote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

lane_add() {  # KIND NAME LINE
  local n
  for n in "${lane_names[@]}"; do
    [ "$n" != "$2" ] || { echo "tests.sh: duplicate entry $2" >&2; return 1; }
  done
  lane_kinds+=("$1")
  lane_names+=("$2")
  lane_entries+=("$3")
}

lane_cmd() {  # NAME TIMEOUT_S COMMAND
  lane_add cmd "$1" "run_entry cmd $1 $2 sh -c $(lane_squote "$3")"
}

lane_helper() {  # BINARY
  lane_binaries+=("$1")
}

lane_gtest() {  # NAME BINARY TIMEOUT_S [VAR=value ...]
  local name=$1 binary=$2 limit=$3 env="" kv filter=""
  shift 3
  # Double quotes: the values may use variables of the place the test runs.
  for kv in "$@"; do env+=" \"$kv\""; done
  if [ -n "${FTVM_SOFTROCE_FILTER:-}" ]; then
    filter=" --gtest_filter=$(lane_squote "$FTVM_SOFTROCE_FILTER")"
  fi
  lane_binaries+=("$binary")
  lane_add gtest "$name" \
    "run_entry gtest $name $limit env$env \"\$LANE_BIN/$binary\" --gtest_color=no$filter"
}

# Finds a built binary by file name under a build directory (skipping the lane's own files).
lane_find_binary() {  # BUILD-DIR NAME
  find "$1" -path "$1/softroce" -prune -o -type f -name "$2" -perm -u+x -print -quit
}

# shellcheck source=tests.sh
source "$(dirname "${BASH_SOURCE[0]}")/tests.sh"
