#!/usr/bin/env bash
# First end-to-end timings of the bamba-1.5b config on one NVIDIA GPU (bf16,
# random weights), next to transformers eager on the same card in the same
# run. Build here, run there:
#   here:  braidc ../shared/configs/bamba-1.5b.json --target=cuda:sm_90a --dtype=bf16 \
#            -o build/bench/bamba15.bundle; cp build/release/bin/braid-run build/bench/;
#          random ids in build/bench/ids4096.txt and ids512.txt (comma-separated)
#   there: bench/first_timings.sh build/bench CONFIG.json OUTDIR
set -euo pipefail
dir=$1 config=$2 out=$3
mkdir -p "$out"
run="$dir/braid-run"
bundle="$dir/bamba15.bundle"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv | tee "$out/gpu.txt"
# One session, five prefills: the first pays one-time costs (kernel loading,
# first-touch allocations); the summary line is over the other four. Each
# time includes copying the [1, 4096, 32000] f32 logits to the host.
"$run" run "$bundle" --backend cuda --random-weights 1 --max-seq 4096 --repeat 5 \
  --ids-file "$dir/ids4096.txt" | grep -E "^prefill" | tee "$out/braid_prefill.txt"
"$run" generate "$bundle" --backend cuda --random-weights 1 --max-seq 1024 \
  --ids-file "$dir/ids512.txt" -n 128 | tee "$out/braid_decode.txt"
"$run" generate "$bundle" --backend cuda --cuda-graph --random-weights 1 --max-seq 1024 \
  --ids-file "$dir/ids512.txt" -n 128 | tee "$out/braid_decode_graph.txt"
python3 "$(dirname "$0")/hf_bamba_eager.py" "$config" | tee "$out/hf_eager.json"
