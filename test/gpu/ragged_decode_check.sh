#!/usr/bin/env bash
# Ragged batched decode on the CUDA backend, from a pack that
# scripts/gpu-prepare.sh built (nothing is compiled here): for each golden
# and dtype, prompts of different lengths start in their own batch slots and
# decode together, each at its own position, with decode captured once as a
# CUDA graph and replayed while the lengths grow. braid-run generate
# --compare-alone then runs every row alone at batch 1 (fed the same tokens)
# and requires each row's logits over all steps to match within the
# tolerance: f32 1e-4, bf16 2e-2 (bf16 activations round differently when
# the batch changes a GEMM's or attention's summation order). Two id sets:
# short prompts (3..7 tokens), and long ones (up to 1100 tokens) whose
# decode attention splits the keys over blocks (split-KV) for some rows and
# not for others.
#
# usage: test/gpu/ragged_decode_check.sh [PACK | PACK.tgz] [LOGDIR]
# Env: GOLDENS (default: all six), DTYPES (default "f32 bf16").
set -uo pipefail
cd "$(dirname "$0")/../.."
PACK=${1:-build/gpu-pack}
if [[ $PACK == *.tgz ]]; then
  rm -rf /tmp/braid-ragged-pack && mkdir -p /tmp/braid-ragged-pack
  tar -C /tmp/braid-ragged-pack -xzf "$PACK" || exit 2
  PACK=$(ls -d /tmp/braid-ragged-pack/*/ | head -1)
  PACK=${PACK%/}
fi
LOG=${2:-${OUT:-$PACK}/ragged}
mkdir -p "$LOG"
BR=$PACK/bin/braid-run
GOLDENS=(${GOLDENS:-bamba_tiny falconh1_tiny granitehybrid_tiny jamba_tiny nemotronh_tiny zamba2_tiny})
DTYPES=(${DTYPES:-f32 bf16})

SHORT="5,9,3,7,2;4,4,8;1,6,2,2,9,3,3;8,1,4"
# Rows of 700, 3 and 1100 ids (a fixed pseudo-random walk over ids 1..200).
awk 'BEGIN { x = 7; n[1] = 700; n[2] = 3; n[3] = 1100;
  for (r = 1; r <= 3; ++r) { s = "";
    for (i = 0; i < n[r]; ++i) { x = (x * 1103 + 12345) % 65536; s = s (i ? "," : "") (1 + x % 200) }
    print s } }' > "$LOG/long.txt"

fails=0
for g in "${GOLDENS[@]}"; do
  for dt in "${DTYPES[@]}"; do
    b=$PACK/bundles/$g.$dt.bundle
    [[ -f $b ]] || { echo "ragged $g $dt: FAIL (no bundle)"; fails=$((fails + 1)); continue; }
    tol=1e-4
    [[ $dt == bf16 ]] && tol=2e-2
    for set in short long; do
      ids=(--ids "$SHORT")
      [[ $set == long ]] && ids=(--ids-file "$LOG/long.txt")
      l=$LOG/$g.$dt.$set.log
      BRAID_CUDA_STATS=1 "$BR" generate "$b" --backend cuda --cuda-graph \
        --weights "test/data/goldens/$g/model.safetensors" "${ids[@]}" -n 8 \
        --compare-alone --tolerance "$tol" > "$l" 2>&1
      rc=$?
      worst=$(awk '$1 ~ /^[0-9]+$/ && $NF ~ /^(ok|FAIL)$/ { if ($3 + 0 > w) w = $3 + 0 } END { printf "%.2e", w }' "$l")
      step=$(grep -m1 '^decode ' "$l" | sed 's/.*: \([0-9.]* ms\/step\).*/\1/')
      graphs=$(grep -i "graph capture" "$l" | sed "s/^ *//" | paste -sd";" -)
      if [[ $rc == 0 ]] && grep -q '^PASS' "$l"; then res=PASS; else res=FAIL; fails=$((fails + 1)); fi
      echo "ragged $g $dt $set: $res (worst rel-L2 vs alone $worst <= $tol; $step; ${graphs:-no graph stats})"
      [[ $res == FAIL ]] && grep -m3 -E 'error|FAIL' "$l" | sed 's/^/    /'
    done
  done
done
echo "ragged decode: $fails failure(s)"
[[ $fails == 0 ]]
