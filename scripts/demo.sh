#!/usr/bin/env bash
# The main job on an example: sets up and builds, then takes the Bamba tiny
# golden (a Hugging Face config.json + safetensors made by transformers),
#   1. shows its architecture as Braid DSL,
#   2. compiles it to a CPU bundle (printing launches and the arena plan),
#   3. checks the bundle's logits and greedy tokens against transformers,
#   4. generates greedily from a prompt.
#   scripts/demo.sh [model-folder]   (a folder with config.json,
#                                     model.safetensors, golden.safetensors)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$root/test/data/goldens/bamba_tiny}
bin=$root/build/release/bin
out=$root/build/demo
"$root/scripts/setup.sh"
"$root/scripts/build.sh" release braidc braid-run >/dev/null
mkdir -p "$out"
bundle=$out/$(basename "$model").bundle

echo "== braidc $model --emit=dsl"
"$bin/braidc" "$model" --emit=dsl
echo
echo "== braidc $model --weights ... --target=cpu -o $bundle --stats"
"$bin/braidc" "$model" --weights "$model/model.safetensors" --target=cpu \
  -o "$bundle" --stats
echo
if [[ -f "$model/golden.safetensors" ]]; then
  echo "== braid-run check $bundle"
  "$bin/braid-run" check "$bundle" --weights "$model/model.safetensors" \
    --golden "$model/golden.safetensors"
  echo
fi
echo "== braid-run generate $bundle --ids 1,17,42,99 -n 8"
"$bin/braid-run" generate "$bundle" --weights "$model/model.safetensors" \
  --ids "1,17,42,99" -n 8
