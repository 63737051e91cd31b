#!/usr/bin/env bash
# Runs the Soft-RoCE lane's tests natively, on a machine whose kernel has rdma_rxe (or a real
# RDMA NIC), instead of inside QEMU:
#
#   ci/softroce/native.sh <build-dir> --netdev DEV   rxe on an existing netdev (its first IPv4
#                                                     address is the test address)
#   ci/softroce/native.sh <build-dir> --veth         the lane's own topology (topology.sh): a
#                                                     veth pair with rxe, touching no real NIC
#   ci/softroce/native.sh <build-dir> --device-addr ADDR
#                                                     an RDMA device that already has ADDR
#                                                     (e.g. a real RoCE/IB port): creates nothing
#
# Runs every lane_gtest entry of tests.sh (the QEMU-only lane_cmd self-checks are skipped) with
# the lane's rules: an entry passes when it exits 0, runs tests and skips none. Whatever it
# created (rxe device, veth pair) is removed on exit. Needs root to create devices (CAP_NET_ADMIN)
# and a memlock limit large enough for the tests' registrations (it raises its own soft limit
# when it can). See docs/operations.md, "Soft-RoCE".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() { echo "usage: $0 <build-dir> --netdev DEV | --veth | --device-addr ADDR" >&2; exit 2; }
[ $# -ge 2 ] && [ -d "$1" ] || usage
build=$(realpath "$1")
mode=$2
log() { echo "softroce-native: $*" >&2; }
die() { log "$*"; exit 1; }

cleanup=()
on_exit() {
  local i
  for ((i = ${#cleanup[@]} - 1; i >= 0; i--)); do eval "${cleanup[i]}" || true; done
}
trap on_exit EXIT

load_rxe() {
  [ -d /sys/module/rdma_rxe ] && return 0
  modprobe rdma_rxe 2>/dev/null || die "cannot load rdma_rxe (is CONFIG_RDMA_RXE set? are you root?)"
  modprobe rdma_ucm 2>/dev/null || true
}

# The rxe device already bound to netdev $1, if any.
rxe_on() { rdma link show 2>/dev/null | awk -v dev="$1" '$NF == dev && !n++ { split($2, a, "/"); print a[1] }'; }

case "$mode" in
  --netdev)
    [ $# -eq 3 ] || usage
    netdev=$3
    addr=$(ip -4 -o addr show dev "$netdev" 2>/dev/null | awk '!n++ { split($4, a, "/"); print a[1] }')
    [ -n "$addr" ] || die "$netdev has no IPv4 address"
    if [ -z "$(rxe_on "$netdev")" ]; then
      load_rxe
      rdma link add ftvm_rxe0 type rxe netdev "$netdev" || die "rdma link add failed"
      cleanup+=("rdma link delete ftvm_rxe0")
    fi
    log "using $(rxe_on "$netdev") on $netdev, address $addr"
    ;;
  --veth)
    [ $# -eq 2 ] || usage
    load_rxe
    addr=${FTVM_TEST_RDMA_ADDR:-10.77.0.1}
    cleanup+=("FTVM_TEST_RDMA_ADDR=$addr '$here/topology.sh' down")
    FTVM_TEST_RDMA_ADDR=$addr "$here/topology.sh" up || die "topology.sh up failed"
    ;;
  --device-addr)
    [ $# -eq 3 ] || usage
    addr=$3
    ;;
  *) usage ;;
esac

# shellcheck source=manifest.sh
source "$here/manifest.sh"
# Binaries in one folder, as in the guest's /lane/bin.
LANE_BIN=$(mktemp -d)
cleanup+=("rm -rf '$LANE_BIN'")
for bin in "${lane_binaries[@]}"; do
  path=$(lane_find_binary "$build" "$bin")
  [ -n "$path" ] || die "test binary $bin not found under $build (not built?)"
  ln -sf "$path" "$LANE_BIN/$bin"
done
export LANE_BIN FTVM_TEST_RDMA_ADDR=$addr
export TMPDIR=${TMPDIR:-/tmp}
ulimit -l unlimited 2>/dev/null || log "memlock limit stays $(ulimit -l) KiB (see docs/operations.md)"

# shellcheck source=lane-lib.sh
source "$here/lane-lib.sh"
for i in "${!lane_entries[@]}"; do
  [ "${lane_kinds[i]}" = gtest ] || continue
  eval "${lane_entries[i]}"
done
mark "END results=$lane_results"
echo "softroce-native: $((lane_results - lane_failures)) passed, $lane_failures failed"
[ "$lane_failures" -eq 0 ] && [ "$lane_results" -gt 0 ]
