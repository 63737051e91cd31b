#!/usr/bin/env bash
# Prints the directory of a cached Debian kernel that can run Soft-RoCE (rdma_rxe) under QEMU,
# downloading it first when the cache does not have the current version.
#
#   ci/softroce/kernel.sh            -> e.g. ~/.cache/ftvm/softroce/linux-image-6.1.0-56-amd64_6.1.192-2
#
# The cache entry (keyed by package name and version) holds only what the lane boots:
#   vmlinuz              the kernel
#   modules/*.ko         rdma_rxe, rdma_ucm, veth, crc32_generic, kvm_amd, kvm_intel and their
#                        dependencies
#   modules.order        load order of the required modules (one file name a line)
#   modules-optional.order  load order of the rest (KVM), loaded after them; the guest may fail
#                        to load these (only one KVM vendor module fits the CPU QEMU emulates,
#                        and none without SVM/VMX)
#   wanted               the module lists it was made for (an entry made for other lists is
#                        rebuilt)
#   version              the kernel release (uname -r)
# The ~70 MB package is unpacked in a temporary directory and dropped afterwards.
#
# Environment:
#   FTVM_SOFTROCE_CACHE   cache root (default ${XDG_CACHE_HOME:-~/.cache}/ftvm/softroce)
#   FTVM_SOFTROCE_DEB     use this linux-image-*.deb instead of asking apt
# When apt cannot name or fetch the current package (offline), the newest cached kernel is used.
set -euo pipefail

cache=${FTVM_SOFTROCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ftvm/softroce}
mkdir -p "$cache"
log() { echo "softroce-kernel: $*" >&2; }

# The modules the lane loads by name; modprobe adds their dependencies. crc32_generic is not a
# declared dependency of rdma_rxe but rxe computes its ICRC with crc32 (without it
# `rdma link add` fails with ENOENT).
wanted_modules=(rdma_rxe rdma_ucm ib_uverbs veth crc32_generic)
# KVM inside the TCG guest (nested: QEMU emulates AMD SVM with nested paging), for the tests that
# run real VMs (ftvm run, colo end to end). Optional: a failure to load them leaves /dev/kvm
# missing, which fails the lane's KVM entries, not the RDMA ones.
optional_modules=(kvm_amd kvm_intel)
wanted_signature="layout 2; required: ${wanted_modules[*]}; optional: ${optional_modules[*]}"

# An entry is complete when it has its version file and was made for the current module lists.
entry_ok() { [ -f "$1/version" ] && [ "$(cat "$1/wanted" 2>/dev/null)" = "$wanted_signature" ]; }

newest_cached() {  # the newest entry made for the current module lists, else the newest one
  local dirs dir
  dirs=$(find "$cache" -mindepth 2 -maxdepth 2 -name version -printf '%T@ %h\n' 2>/dev/null |
         sort -rn | cut -d' ' -f2-)
  while read -r dir; do
    [ -n "$dir" ] && entry_ok "$dir" && { echo "$dir"; return; }
  done <<<"$dirs"
  sed -n 1p <<<"$dirs"
}

# Echoes "package version" of the kernel that linux-image-amd64 depends on.
current_package() {
  local pkg ver
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-6\.[^ ]*-amd64\)$/\1/p' | sed -n 1p)
  [ -n "$pkg" ] || return 1
  ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
  [ -n "$ver" ] && [ "$ver" != "(none)" ] || return 1
  echo "$pkg $ver"
}

# Unpacks a kernel .deb into cache entry $2 (atomically: built aside, then renamed).
unpack() {
  local deb=$1 entry=$2 tmp release root order
  tmp=$(mktemp -d "$cache/.unpack.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  root=$tmp/root
  dpkg-deb -x "$deb" "$root"
  release=$(ls "$root/lib/modules" | sed -n 1p)
  [ -n "$release" ] || { log "no modules in $deb"; return 1; }
  depmod -b "$root" "$release"
  mkdir -p "$tmp/entry/modules"
  cp "$root/boot/vmlinuz-$release" "$tmp/entry/vmlinuz"
  # --show-depends prints "insmod <path>" lines in load order, repeating shared dependencies.
  # The optional modules come last; their dependencies already listed as required are not
  # repeated.
  order=$({ modprobe -a -S "$release" -d "$root" --show-depends "${wanted_modules[@]}" |
              awk '$1 == "insmod" { print "r", $2 }'
            { modprobe -a -S "$release" -d "$root" --show-depends "${optional_modules[@]}" \
                2>/dev/null || true; } | awk '$1 == "insmod" { print "o", $2 }'; } |
          awk '!seen[$2]++')
  [ -n "$order" ] || { log "modprobe found none of ${wanted_modules[*]} in $deb"; return 1; }
  : >"$tmp/entry/modules.order"
  : >"$tmp/entry/modules-optional.order"
  while read -r kind path; do
    cp "$path" "$tmp/entry/modules/"
    if [ "$kind" = r ]; then
      basename "$path" >>"$tmp/entry/modules.order"
    else
      basename "$path" >>"$tmp/entry/modules-optional.order"
    fi
  done <<<"$order"
  grep -q '^rdma_rxe\.ko' "$tmp/entry/modules.order" ||
    { log "$deb has no rdma_rxe module (CONFIG_RDMA_RXE)"; return 1; }
  grep -q '^kvm\.ko' "$tmp/entry/modules-optional.order" ||
    log "warning: $deb has no kvm module (CONFIG_KVM): the lane's KVM tests will fail"
  echo "$wanted_signature" >"$tmp/entry/wanted"
  echo "$release" >"$tmp/entry/version"
  rm -rf "$entry"
  mv "$tmp/entry" "$entry"
}

exec 9>"$cache/.lock"
flock 9
rm -rf "$cache"/.unpack.* "$cache"/.download.*  # left by an interrupted run (we hold the lock)

if [ -n "${FTVM_SOFTROCE_DEB:-}" ]; then
  entry=$cache/$(basename "$FTVM_SOFTROCE_DEB" .deb)
  entry_ok "$entry" || unpack "$FTVM_SOFTROCE_DEB" "$entry"
  echo "$entry"
  exit 0
fi

if ! current=$(current_package); then
  # Package lists missing or stale (a fresh machine): refresh once.
  apt-get update -qq >/dev/null 2>&1 || true
  current=$(current_package) || current=""
fi
if [ -z "$current" ]; then
  entry=$(newest_cached)
  [ -n "$entry" ] || { log "apt cannot name linux-image-amd64's kernel and the cache is empty"; exit 1; }
  log "apt cannot name the current kernel package; using cached $(basename "$entry")"
  echo "$entry"
  exit 0
fi

read -r pkg ver <<<"$current"
entry=$cache/${pkg}_${ver//:/%}
if ! entry_ok "$entry"; then
  log "downloading $pkg $ver"
  dl=$(mktemp -d "$cache/.download.XXXXXX")
  trap 'rm -rf "$dl"' EXIT
  # apt-get download as root warns that the _apt user cannot write here: harmless.
  if ! (cd "$dl" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1); then
    apt-get update -qq >/dev/null 2>&1 || true
    (cd "$dl" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) || {
      entry=$(newest_cached)
      [ -n "$entry" ] || { log "cannot download $pkg=$ver"; exit 1; }
      log "cannot download $pkg=$ver; using cached $(basename "$entry")"
      echo "$entry"
      exit 0
    }
  fi
  unpack "$dl"/*.deb "$entry"
  log "cached $(cat "$entry/version") in $entry"
fi
echo "$entry"
