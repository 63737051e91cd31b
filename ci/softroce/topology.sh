#!/bin/sh
# The Soft-RoCE test topology, shared by the QEMU guest (busybox sh) and native.sh (a real host):
#
#   rxe device ftvm_rxe0 on veth ftvm-v0 ($FTVM_TEST_RDMA_ADDR/24), peer end ftvm-v1 (no address)
#
# Every test runs its two ends on ftvm_rxe0 in loopback (rdma_cm resolves the local address to
# the same device), in one process or in two. Why not a second device: two rxe devices in one
# network namespace cannot reach each other (the route to a local address is `lo`, which has no
# rxe device), and Debian 12's kernel (6.1) opens rxe's UDP port 4791 in the initial namespace
# only, so an rxe device on a netdev in another namespace never receives. Tests across two
# devices need two guests (or two hosts).
#
#   topology.sh up      create it (fails if any part exists already)
#   topology.sh down    remove whatever exists of it
# Uses /usr/sbin/ip (busybox's ip applet cannot create veth pairs) and rdma from iproute2.
set -eu

: "${FTVM_TEST_RDMA_ADDR:=10.77.0.1}"
VETH0=ftvm-v0
VETH1=ftvm-v1
DEV=ftvm_rxe0
IP=/usr/sbin/ip
RDMA=/usr/bin/rdma

# Waits up to ~10 s for the rxe port to become ACTIVE.
wait_active() {
  i=0
  while [ $i -lt 100 ]; do
    if "$RDMA" link show "$DEV/1" 2>/dev/null | grep -q 'state ACTIVE'; then return 0; fi
    sleep 0.1
    i=$((i + 1))
  done
  echo "topology: $DEV port 1 did not become ACTIVE" >&2
  "$RDMA" link show >&2 || true
  return 1
}

case "${1:-}" in
  up)
    "$IP" link set lo up
    "$IP" link add "$VETH0" type veth peer name "$VETH1"
    "$IP" addr add "$FTVM_TEST_RDMA_ADDR/24" dev "$VETH0"
    "$IP" link set "$VETH1" up
    "$IP" link set "$VETH0" up
    "$RDMA" link add "$DEV" type rxe netdev "$VETH0"
    wait_active
    ;;
  down)
    "$RDMA" link delete "$DEV" 2>/dev/null || true
    "$IP" link delete "$VETH0" 2>/dev/null || true
    ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
