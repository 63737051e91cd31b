#!/bin/busybox sh
# /init of the Soft-RoCE lane's QEMU guest (PID 1, busybox sh). Loads the rxe modules and, where
# the emulated CPU allows it, KVM (/dev/kvm for the tests that run VMs), builds the
# topology (topology.sh), runs the entries of /lane/tests.sh in order, reporting them on the
# serial console in the lane's line protocol (lane-lib.sh) for ci/softroce/run.sh to judge:
#
#   FTVM-LANE SETUP FAIL <step>        (nothing after this runs)
#   FTVM-LANE BEGIN / RESULT ...       (one pair per entry)
#   FTVM-LANE END results=<n>
#
# Then powers the guest off.
/bin/busybox --install -s /bin
export PATH=/lane/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TMPDIR=/tmp

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run /tmp
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm

. /lane/lane-lib.sh
finish() {
  mark "END results=$lane_results"
  sync
  poweroff -f
  sleep 10  # poweroff -f does not return; if it did, init's exit would panic the kernel
}
setup_fail() {
  mark "SETUP FAIL $*"
  dmesg | tail -30
  finish
}

. /lane/env.sh || setup_fail "read /lane/env.sh"
while read -r module; do
  insmod "/lane/modules/$module" || setup_fail "insmod $module"
done </lane/modules.order
# KVM: only the vendor module that fits the emulated CPU loads (kvm_amd on QEMU's TCG "max" CPU,
# which emulates SVM with nested paging). Without it the KVM entries fail, saying why.
while read -r module; do
  insmod "/lane/modules/$module" 2>/tmp/insmod.err || echo "lane: optional module $module \
not loaded: $(cat /tmp/insmod.err)"
done </lane/modules-optional.order
[ -e /dev/kvm ] || echo "lane: no /dev/kvm (the emulated CPU has no SVM/VMX?)"
/lane/topology.sh up || setup_fail "topology"

. /lane/tests.sh
finish
