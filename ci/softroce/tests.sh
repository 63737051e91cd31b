# The Soft-RoCE lane's test list (bash; sourced by run.sh and native.sh, never run directly).
#
#   lane_cmd   NAME TIMEOUT_S 'SHELL COMMAND'
#       A self-check of the lane, run by the guest's busybox sh (lane tools: ibv_devinfo, rping,
#       rdma, /usr/sbin/ip: call it by full path, busybox sh prefers its own ip applet). Passes
#       when it exits 0. Runs only in the QEMU lane.
#   lane_gtest NAME BINARY TIMEOUT_S [VAR=value ...]
#       A GoogleTest binary from the build directory (found there by file name, so it must be
#       built by the build stage: any ftvm_test(...) target). Passes when it exits 0, runs at
#       least one test and skips none. VAR=value pairs are set for it; they may use the
#       variables below ("$FTVM_TEST_RDMA_ADDR" expands where the test runs).
#       Helper binaries a test starts (e.g. rdma_test_peer) are listed with lane_helper.
#   lane_helper BINARY
#       Another binary from the build directory to ship beside the tests (in the guest they all
#       live in /lane/bin; tests find helpers through the variable their suite documents).
#
# Every test sees (topology.sh):
#   FTVM_TEST_RDMA_ADDR   IPv4 address of rxe device ftvm_rxe0; tests listen and connect here
#                         (both ends on one device, in loopback)
#   FTVM_LANE=1           set in the QEMU lane only
#   /dev/kvm              nested KVM: the guest's kernel runs kvm_amd on the SVM (with nested
#                         paging) that QEMU's TCG emulates for -cpu max. Our CPL3 guests run, but
#                         about 600x slower than on the host (a VM exit ~0.25 ms, VM creation
#                         ~0.4 s): keep guest work small (iterations, pages) in lane entries.
#
# To add a test (e.g. the ram or colo end-to-end tests over rdma:// as they land): register it
# with ftvm_test(...) as usual, make it take its addresses from FTVM_TEST_RDMA_ADDR, then add one
# lane_gtest line below. Keep the lane's total wall time small: the guest runs under TCG,
# roughly 10-30x slower than the host.

lane_cmd devinfo 60 'ibv_devinfo -d ftvm_rxe0 && ibv_devinfo -d ftvm_rxe0 | grep -q PORT_ACTIVE'
# rping in loopback: rdma_cm, SEND/RECV and RDMA READ/WRITE through the rxe device.
lane_cmd rping 120 '
  rping -s -a "$FTVM_TEST_RDMA_ADDR" -C 3 -S 64 &
  server=$!
  sleep 2
  rping -c -a "$FTVM_TEST_RDMA_ADDR" -C 3 -S 64 -v
  rc=$?
  wait $server || rc=1
  exit $rc'

# The verbs provider: its own device tests, then the provider-neutral conformance suite, the
# same binary and tests the tcp provider passes (its peer process for kill/stop tests beside it).
lane_gtest verbs_device rdma_verbs_device_test 300
lane_helper rdma_test_peer
lane_gtest verbs_conformance rdma_conformance_test 600 FTVM_TEST_PROVIDERS=verbs \
  'FTVM_TEST_PEER=$LANE_BIN/rdma_test_peer'

# The Channel benchmark over verbs: functional only (TCG speed means nothing, never quote it).
lane_helper channel_bench
lane_cmd channel_bench_verbs 120 '
  "$LANE_BIN/channel_bench" --transport verbs --addr "$FTVM_TEST_RDMA_ADDR" --seconds 0.2 \
    --only write64k,msg \
    >/tmp/bench.out 2>&1
  rc=$?
  cat /tmp/bench.out
  [ $rc -eq 0 ] && grep -q "^Channel verbs" /tmp/bench.out'

# ram/ replication end to end over rdma:// (issue 4): faults in every phase, and a SIGKILLed
# peer process.
lane_gtest ram_e2e_verbs ram_e2e_test 600 FTVM_TEST_PROVIDERS=verbs
lane_helper ram_test_peer
lane_gtest ram_kill_verbs ram_kill_test 300 FTVM_TEST_PROVIDERS=verbs \
  'FTVM_RAM_TEST_PEER=$LANE_BIN/ram_test_peer'

# KVM in the lane (what colo/ needs under its RDMA tests): a counter guest run by `ftvm run`, then
# the VMM's dirty logging (classic, manual-protect and ring modes) and state save/load.
lane_helper ftvm
lane_cmd kvm_counter 120 '
  [ -c /dev/kvm ] || { echo "no /dev/kvm in the lane guest"; dmesg | grep -iE "kvm|svm"; exit 1; }
  "$LANE_BIN/ftvm" run --guest counter --mem 32M --timeout 60s -- iterations=200000'
# RestartForgetsWhatWasWrittenWhileStopped is left out: turning dirty logging off and on again
# (KVM_MEM_LOG_DIRTY_PAGES toggled on the memslot) under nested SVM in TCG wedges the whole lane
# guest now and then (manual and ring modes, 1 in ~30 runs; not even SIGKILL ends the test). The
# host's kvm stage runs it; colo starts dirty logging once per VM.
lane_gtest vmm_dirty_log vmm_dirty_log_test 120 'GTEST_FILTER=-*RestartForgetsWhatWasWritten*'
lane_gtest vmm_state vmm_state_test 120

# colo/ end to end over rdma:// (issue 6): real `ftvm primary` and `ftvm secondary` processes on
# nested KVM, driven over QMP by colo_e2e_test. A subset: under TCG each test takes 5-20 s (the
# whole suite, with verify mode hashing all guest RAM at every commit, would take many minutes).
# Passive mode with a SIGKILLed primary, the primary killed mid-RAM (both checkpoint orders) and
# after `received`, the secondary killed mid-RAM while the primary's guest waits paused for it
# (--no-staging). FTVM_TEST_TIME_SCALE stretches the harness's waits and the daemons'
# heartbeat and checkpoint timeouts: a checkpoint of a whole guest pauses the secondary for
# seconds here. (ColoLinkCut is tcp:// only: its proxy forwards TCP.)
colo_e2e_filter='*PassiveModeCheckpointsAndFailsOver/verbs:*PrimaryKill*/verbs_ram_*'
colo_e2e_filter+=':*PrimaryKill*/verbs_received_staged:*SecondaryKill*/verbs_ram_direct'
lane_gtest colo_e2e_verbs colo_e2e_test 600 FTVM_TEST_PROVIDERS=verbs FTVM_TEST_TIME_SCALE=5 \
  'FTVM_TEST_FTVM=$LANE_BIN/ftvm' "GTEST_FILTER=$colo_e2e_filter"
