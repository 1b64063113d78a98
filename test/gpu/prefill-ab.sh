#!/usr/bin/env bash
# Prefill A/B of bundles on one GPU: each bundle runs a profiled prefill of
# the prompt in PACK/ids4000.txt (random weights, 3 calls, the first one
# dropped), the bundles alternating, twice; then the logits of every bundle
# are compared with the first's (rel-L2, argmax) and each run prints the
# prefill's device time, its five heaviest kernel families and the linear
# launches' mean time per grid shape.
#
# usage: test/gpu/prefill-ab.sh PACK OUT NAME...
#   PACK: bin/braid-run, NAME.bundle for each NAME, ids4000.txt;
#   OUT: where logs, profiles and logits go. Needs torch and safetensors.
set -uo pipefail
if [[ $# -lt 3 ]]; then
  sed -n '2,13p' "$0"
  exit 2
fi
P=$1 O=$2
shift 2
mkdir -p "$O"
for r in 1 2; do
  for n in "$@"; do
    BRAID_PROFILE=$O/$n-$r.profile.json "$P/bin/braid-run" run "$P/$n.bundle" \
      --backend cuda --random-weights 1 --ids-file "$P/ids4000.txt" \
      --max-seq 4096 --repeat 3 --save-logits "$O/$n-$r.safetensors" \
      > "$O/$n-$r.log" 2>&1 || echo "$n failed (run $r): $O/$n-$r.log"
  done
done
python3 - "$O" "$@" <<'PY'
import collections, json, statistics, sys
from safetensors.torch import load_file
out, names = sys.argv[1], sys.argv[2:]
a = load_file(f"{out}/{names[0]}-1.safetensors")["logits"].float()
for n in names[1:]:
    b = load_file(f"{out}/{n}-1.safetensors")["logits"].float()
    rel = ((a - b).norm(dim=-1) / a.norm(dim=-1)).flatten()
    same = 100 * (a.argmax(-1) == b.argmax(-1)).float().mean().item()
    print(f"{n} vs {names[0]}: logits rel-L2 max {rel.max():.3e}; argmax equal {same:.2f}%")
grids = {}
for r in (1, 2):
    for n in names:
        p = json.load(open(f"{out}/{n}-{r}.profile.json"))
        calls = [c for c in p["calls"] if c["entry"] == "prefill" and not c["graph"]][1:]
        keep = {c["call"] for c in calls}
        fam = collections.defaultdict(lambda: collections.defaultdict(float))
        lin = collections.defaultdict(lambda: collections.defaultdict(float))
        for k in p["kernels"]:
            if k["call"] in keep:
                fam[k["family"]][k["call"]] += k["ms"]
                if k["family"] == "linear":
                    lin[k["launch"]][k["call"]] += k["ms"]
                    # Launches are grouped by the first bundle's grids.
                    if n == names[0]:
                        grids.setdefault(k["launch"], str(k["grid"]))
        med = lambda v: statistics.median(v.values())
        total = statistics.median(c["ms"] for c in calls)
        heavy = sorted(fam.items(), key=lambda x: -med(x[1]))[:5]
        print(f"rep {r} {n}: prefill {total:.3f} ms; " +
              ", ".join(f"{f} {med(v):.3f}" for f, v in heavy))
        agg = collections.defaultdict(list)
        for launch, v in lin.items():
            agg[grids.get(launch, "?")].append(med(v))
        print("    " + "; ".join(f"{g} x{len(v)} {sum(v) / len(v) * 1000:.1f} us"
                                for g, v in sorted(agg.items())))
PY
