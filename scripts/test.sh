#!/usr/bin/env bash
# Sets up, builds and runs every Braid test (lit suite and unit tests).
# Ends with ctest's summary line. Used by .ci/run.
#   scripts/test.sh [debug|release]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=${1:-release}
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$preset"
cd "$root/build/$preset"
ctest --output-on-failure
