#!/usr/bin/env bash
# Installs everything ftvm's build, tests, benchmarks, lint, fuzzing and the Soft-RoCE lane need,
# from Debian 12's own repositories. Idempotent: does nothing when all packages are present.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  # build
  g++ cmake ninja-build pkg-config
  # libraries
  libgtest-dev libgmock-dev libbenchmark-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libcli11-dev liburing-dev libxxhash-dev systemtap-sdt-dev
  # RDMA: verbs + rdma_cm, the rxe user-space driver, tools
  libibverbs-dev librdmacm-dev rdma-core ibverbs-providers ibverbs-utils rdmacm-utils
  # lint and fuzzing (clang 14, the default, cannot parse <expected>)
  clang-19 clang-format-19 clang-tidy-19 libclang-rt-19-dev
  # Soft-RoCE lane: a stock Debian kernel under QEMU TCG, busybox initramfs
  qemu-system-x86 busybox-static kmod cpio iproute2 nftables
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# Retry once: a fresh machine's package lists may be stale or mid-update.
$SUDO apt-get update -qq || { sleep 5; $SUDO apt-get update -qq; }
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
  { sleep 5; $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
echo "install-deps: done"
