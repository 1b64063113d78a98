#!/usr/bin/env bash
# Sets up, builds and runs every Braid test (lit suite and unit tests).
# Ends with ctest's summary and a last line "N passed, N failed". Used by
# .ci/run.
#   scripts/test.sh [debug|release]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=${1:-release}
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$preset"
cd "$root/build/$preset"
log=$(mktemp)
status=0
ctest --output-on-failure 2>&1 | tee "$log" || status=$?
summary=$(grep -E '[0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1 || true)
rm -f "$log"
if [[ "$summary" =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
  failed=${BASH_REMATCH[1]}
  total=${BASH_REMATCH[2]}
  echo "$((total - failed)) passed, $failed failed"
  [[ $failed -eq 0 ]] || exit 1
fi
exit "$status"
