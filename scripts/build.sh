#!/usr/bin/env bash
# Configures and builds Braid with a CMake preset (default: release).
#   scripts/build.sh [debug|release] [ninja targets...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=${1:-release}
shift || true
cd "$root"
if [[ ! -f "build/$preset/build.ninja" ]]; then
  echo "build: configuring preset '$preset'"
  log=$(mktemp)
  cmake --preset "$preset" >"$log" 2>&1 || {
    cat "$log" >&2
    exit 1
  }
  rm -f "$log"
fi
echo "build: building preset '$preset' ${*:-(all targets)}"
ninja -C "build/$preset" "$@"
