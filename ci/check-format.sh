#!/usr/bin/env bash
# Fails if any C/C++ source differs from .clang-format. `ci/check-format.sh --fix` rewrites them.
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=$(command -v clang-format-19 || true)
[ -n "$fmt" ] || { echo "format: clang-format-19 missing (run ci/install-deps.sh)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.h' '*.cc' '*.c' | grep -v '^vmm/guests/.*\.S$')
[ ${#files[@]} -gt 0 ] || exit 0
if [ "${1:-}" = "--fix" ]; then
  "$fmt" -i "${files[@]}"
  exit 0
fi
if ! "$fmt" --dry-run --Werror "${files[@]}" 2>/tmp/ftvm-format.log; then
  grep -E '^[^ ].*: (error|warning):' /tmp/ftvm-format.log | cut -d: -f1 | sort -u |
    sed 's/^/format: needs clang-format-19 -i: /'
  exit 1
fi
echo "format: ok (${#files[@]} files)"
