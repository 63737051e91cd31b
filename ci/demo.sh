#!/usr/bin/env bash
# The README's first command: installs what is missing (ci/install-deps.sh), builds `ftvm`, and
# runs `ftvm demo` (a primary and a secondary on this host, checkpoints, a SIGKILLed primary,
# the failover, the final stats). Arguments go to `ftvm demo`, e.g.
#   ci/demo.sh --duration 20s --mem 1G
# FTVM_BUILD_DIR (default build) picks the build directory; it is the one ci/test.sh uses.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FTVM_BUILD_DIR:-build}
ci/install-deps.sh
cmake -S . -B "$build" -G Ninja -DFTVM_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" -j"$(nproc)" ftvm
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
  echo "ci/demo.sh: ftvm needs a usable /dev/kvm (KVM enabled, and permission to open it)" >&2
  exit 69
fi
exec "$build/app/ftvm" demo "$@"
