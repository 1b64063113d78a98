#!/usr/bin/env bash
# The main job on an example: sets up, builds, then parses, verifies, lints
# and prints the example hybrid model (Bamba-shaped) in the braid dialect.
#   scripts/demo.sh [model.mlir]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$root/examples/bamba_tiny.mlir}
"$root/scripts/setup.sh"
"$root/scripts/build.sh" release braid-opt >/dev/null
echo "demo: braid-opt --braid-lint-hybrid $model"
"$root/build/release/bin/braid-opt" --braid-lint-hybrid "$model"
