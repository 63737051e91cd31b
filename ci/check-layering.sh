#!/usr/bin/env bash
# Checks that every library folder includes only what the layer diagram allows:
#   base <- rdma <- ram <-+
#   base <- vmm  <--------+-- colo <- control <- app
# and that the verbs and KVM headers stay inside the one folder allowed to see them.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [base]="base"
  [rdma]="base rdma"
  [ram]="base rdma ram"
  [vmm]="base vmm"
  [colo]="base rdma ram vmm colo"
  [control]="base rdma ram vmm colo control"
  [app]="base rdma ram vmm colo control app"
)

status=0
for lib in "${!allowed[@]}"; do
  [ -d "$lib" ] || continue
  while IFS=: read -r file line text; do
    dep=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$text")
    if [[ " ${allowed[$lib]} " != *" $dep "* ]]; then
      echo "layering: $file:$line: $lib/ must not include $dep/ ($text)"
      status=1
    fi
  done < <(grep -rnE '^\s*#\s*include\s+"[a-z_]+/' "$lib" --include='*.h' --include='*.cc' || true)
done

# System headers with a single owner.
check_owner() {  # pattern owner-regex description
  local hits
  hits=$(grep -rlE "$1" --include='*.h' --include='*.cc' base rdma ram vmm colo control app 2>/dev/null |
         grep -vE "$2" || true)
  if [ -n "$hits" ]; then
    echo "layering: $3 included outside its owner:"; echo "$hits" | sed 's/^/  /'
    status=1
  fi
}
check_owner '#\s*include\s*<(infiniband/verbs\.h|rdma/rdma_cma\.h)>' '^rdma/verbs/' \
  "verbs headers (only rdma/verbs/)"
check_owner '#\s*include\s*<linux/kvm\.h>' '^vmm/kvm_headers\.h$' \
  "<linux/kvm.h> (only vmm/kvm_headers.h, which fixes the flex-array trap)"

[ $status -eq 0 ] && echo "layering: ok"
exit $status
