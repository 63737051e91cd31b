#!/usr/bin/env bash
# The Soft-RoCE lane: runs the verbs tests against real rxe devices inside a QEMU (TCG) guest
# booting Debian's stock kernel, because this host's kernel has no RDMA.
#
#   ci/softroce/run.sh <build-dir>
#
# 1. kernel.sh: the current Debian kernel + the rxe and KVM modules (downloaded once, cached).
# 2. An initramfs: busybox, the modules (rxe; KVM, loaded where the emulated CPU allows it), the
#    lane tools (ip, rdma, ibv_devinfo, rping), the test binaries listed in tests.sh taken from
#    <build-dir> (debug info stripped), every library they load (ldd), the rxe user-space
#    provider; /init is guest-init.sh.
# 3. Boots it, streaming the serial console here (and to <build-dir>/softroce/console.log).
# 4. Exits 0 only if the guest printed its END marker and a PASS result for every entry of
#    tests.sh. A failure, a timeout (FTVM_SOFTROCE_TIMEOUT seconds for the whole run, default
#    600), a crash or a missing result fails the lane. Silence is never success.
#
# Environment: FTVM_SOFTROCE_TIMEOUT, FTVM_SOFTROCE_ACCEL (default tcg,thread=multi),
# FTVM_SOFTROCE_CPU (QEMU -cpu, default max: under TCG an AMD CPU with SVM and nested paging, so
# the guest's kvm_amd offers /dev/kvm to the KVM entries), FTVM_SOFTROCE_MEM (default 1536M),
# FTVM_SOFTROCE_FILTER (a gtest filter passed to every gtest entry, for debugging), plus
# kernel.sh's FTVM_SOFTROCE_CACHE / FTVM_SOFTROCE_DEB.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] && [ -d "$1" ] || { echo "usage: $0 <build-dir>" >&2; exit 2; }
build=$(realpath "$1")
timeout_s=${FTVM_SOFTROCE_TIMEOUT:-600}
work=$build/softroce
root=$work/root
log() { echo "softroce: $*" >&2; }
die() { log "$*"; exit 1; }
started=$SECONDS

# shellcheck source=manifest.sh
source "$here/manifest.sh"

# ---- the initramfs -----------------------------------------------------------------------------
# Copies an ELF file and every library it loads to the same paths under $root.
copy_with_libs() {  # SOURCE [DEST-in-root]
  local src=$1 dest=${2:-$1} lib
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$src" "$root$dest"
  while read -r lib; do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done < <(ldd "$src" | grep -oE '/[^ ]+' | sort -u)
}

build_initramfs() {
  local kernel=$1 tool provider bin path
  rm -rf "$root"
  mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc/libibverbs.d,lane/bin,lane/modules}
  cp /bin/busybox "$root/bin/busybox"
  for tool in /usr/sbin/ip /usr/bin/rdma /usr/bin/ibv_devinfo /usr/bin/rping; do
    [ -x "$tool" ] || die "$tool missing (ci/install-deps.sh installs it)"
    copy_with_libs "$tool"
  done
  # libibverbs loads its device providers with dlopen(), which ldd cannot see.
  local providers=(/usr/lib/*/libibverbs/librxe-rdmav*.so)
  provider=${providers[0]}
  [ -e "$provider" ] || provider=""
  [ -n "$provider" ] || die "no rxe provider (librxe-rdmav*.so from ibverbs-providers)"
  copy_with_libs "$provider"
  cp /etc/libibverbs.d/rxe.driver "$root/etc/libibverbs.d/"
  # glibc dlopen()s libgcc_s for thread cancellation and unwinding.
  # (No early exit in these pipelines: under pipefail the writer would die of SIGPIPE.)
  path=$(ldconfig -p | awk '/libgcc_s\.so\.1 .*x86-64/ && !n++ { print $NF }')
  [ -n "$path" ] && copy_with_libs "$path"
  for bin in "${lane_binaries[@]}"; do
    path=$(lane_find_binary "$build" "$bin")
    [ -n "$path" ] || die "test binary $bin not found under $build (not built?)"
    copy_with_libs "$path" "/lane/bin/$bin"
    strip --strip-debug "$root/lane/bin/$bin"
  done
  cp "$kernel"/modules/*.ko "$root/lane/modules/"
  cp "$kernel/modules.order" "$root/lane/"
  if [ -f "$kernel/modules-optional.order" ]; then
    cp "$kernel/modules-optional.order" "$root/lane/"
  else
    : >"$root/lane/modules-optional.order"  # a kernel cached before the lane shipped KVM
  fi
  install -m 755 "$here/guest-init.sh" "$root/init"
  install -m 755 "$here/topology.sh" "$root/lane/topology.sh"
  cp "$here/lane-lib.sh" "$root/lane/"
  echo "export FTVM_LANE=1 FTVM_TEST_RDMA_ADDR=10.77.0.1 LANE_BIN=/lane/bin" >"$root/lane/env.sh"
  printf '%s\n' "${lane_entries[@]}" >"$root/lane/tests.sh"
  (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$work/initrd.cpio"
}

# ---- boot and judge ----------------------------------------------------------------------------
boot() {
  local kernel=$1 status
  log "booting $(cat "$kernel/version") under QEMU (${FTVM_SOFTROCE_ACCEL:-tcg,thread=multi}), \
timeout ${timeout_s} s"
  set +e
  timeout -k 10 "$timeout_s" qemu-system-x86_64 -accel "${FTVM_SOFTROCE_ACCEL:-tcg,thread=multi}" \
    -cpu "${FTVM_SOFTROCE_CPU:-max}" -smp 2 -m "${FTVM_SOFTROCE_MEM:-1536M}" \
    -nodefaults -no-reboot -display none \
    -kernel "$kernel/vmlinuz" -initrd "$work/initrd.cpio" -nic none -serial stdio \
    -append "console=ttyS0 rdinit=/init quiet loglevel=4 panic=-1 oops=panic" </dev/null |
    sed -u 's/\r$//' | tee "$work/console.log"
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    log "TIMEOUT: the guest ran past ${timeout_s} s"
  elif [ "$status" -ne 0 ]; then
    log "qemu exited with status $status"
  fi
  return 0
}

# Prints a verdict per entry; returns non-zero unless everything passed and END was seen.
judge() {
  local console=$work/console.log ok=0 name line
  echo
  echo "=== Soft-RoCE lane results"
  if grep -q '^FTVM-LANE SETUP FAIL' "$console"; then
    grep '^FTVM-LANE SETUP FAIL' "$console" | sed 's/^FTVM-LANE /  /'
    ok=1
  fi
  for name in "${lane_names[@]}"; do
    line=$(grep -E "^FTVM-LANE RESULT $name " "$console" | tail -1 || true)
    if [ -z "$line" ]; then
      echo "  MISSING  $name (no result reported)"
      ok=1
    else
      read -r _ _ _ verdict rest <<<"$line"
      printf '  %-8s %s %s\n' "$verdict" "$name" "$rest"
      [ "$verdict" = PASS ] || ok=1
    fi
  done
  if ! grep -q '^FTVM-LANE END ' "$console"; then
    echo "  the guest never reached its END marker (crash, hang or timeout)"
    ok=1
  fi
  echo "  wall time $((SECONDS - started)) s"
  return $ok
}

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (ci/install-deps.sh)"
mkdir -p "$work"
rm -f "$work/console.log"
kernel=$("$here/kernel.sh") || die "no kernel for the lane"
build_initramfs "$kernel"
log "initramfs $(du -h "$work/initrd.cpio" | cut -f1) with ${#lane_names[@]} entries"
boot "$kernel"
judge
