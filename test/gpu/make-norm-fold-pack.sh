#!/usr/bin/env bash
# Builds the pack of decode-norm-fold-check.sh (build machine, no GPU):
# the norm-folding linear cases of make_dense_cases.py through
# dense-kernel-gen (sources and case list; the GPU machine compiles them),
# and, with BUNDLES=1, bamba-1.5b bf16 sm_90a bundles with and without the
# fold plus braid-run and the prompt files of BENCH (a bench pack folder).
# usage: test/gpu/make-norm-fold-pack.sh PACK   (writes PACK/ and PACK.tgz)
# Env: BUILD (cmake build dir; default build/hgemm), GEN (dense-kernel-gen;
#      default PACK/../dense-kernel-gen), BUNDLES, BENCH (default build/gpack/bench),
#      CONFIG (default test/data/configs/bamba-1.5b.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
PACK=$1
BUILD=${BUILD:-build/hgemm}
GEN=${GEN:-$(dirname "$PACK")/dense-kernel-gen}
# The generator (host, MLIR), rebuilt when a source it compiles is newer.
. test/gpu/dense_gen.sh
if dense_gen_stale "$GEN"; then
  build_dense_gen "$BUILD" "$GEN"
fi
rm -rf "$PACK"
mkdir -p "$PACK/src" "$PACK/src-norm"
python3 test/gpu/make_dense_cases.py "$PACK/src"
# Only the launches that fold a norm or write row sums (the weights of the others stay
# declared; unused ones cost nothing).
for f in "$PACK"/src/*.mlir; do
  awk '!/launch.kernel/ || /norm_eps|row_sumsq/' "$f" > "$PACK/src-norm/$(basename "$f")"
done
rm -rf "$PACK/cases"
"$GEN" --out "$PACK/cases" "$PACK"/src-norm/*.mlir
if [[ "${BUNDLES:-0}" == 1 ]]; then
  BENCH=${BENCH:-build/gpack/bench}
  CONFIG=${CONFIG:-test/data/configs/bamba-1.5b.json}
  mkdir -p "$PACK/bin"
  cp "$BUILD/bin/braid-run" "$PACK/bin/"
  cp "$BENCH/ids512.txt" "$BENCH/ids64x512.txt" "$PACK/"
  "$BUILD/bin/braidc" "$CONFIG" --target=cuda:sm_90a --dtype=bf16 -o "$PACK/fold.bundle"
  "$BUILD/bin/braidc" "$CONFIG" --target=cuda:sm_90a --dtype=bf16 --no-fold-norms --no-decode-norms \
    -o "$PACK/nofold.bundle"
fi
rm -rf "$PACK/src" "$PACK/src-norm"
tar -C "$(dirname "$PACK")" -czf "$PACK.tgz" "$(basename "$PACK")"
echo "make-norm-fold-pack: $(ls "$PACK"/cases/k*.cu | wc -l) kernel sources," \
  "$(grep -c '^case ' "$PACK/cases/cases.txt" || true) cases; $PACK.tgz"
