"""The last decode step of an ncu raw CSV (test/gpu/decode-kernel-times.sh):
each kernel's time, DRAM bytes and rate, then totals per kernel name, then
the mean launch per shape (kernel, grid and bytes read).
A decode_greedy step ends with braid_greedy_next_main.
usage: python3 ncu_step_table.py NCU.csv"""
import csv, sys
from collections import defaultdict


def rows(path):
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith('"ID"'))
    table = list(csv.DictReader(lines[start:]))
    return [r for r in table if r.get("ID", "").strip().isdigit()]


def num(r, key):
    v = r.get(key, "").replace(",", "").strip()
    return float(v) if v and v != "n/a" else 0.0


def main(path):
    kernels = rows(path)
    ends = [i for i, r in enumerate(kernels) if "greedy_next" in r["Kernel Name"]]
    if len(ends) < 2:
        sys.exit(f"{path}: fewer than two decode steps ({len(ends)} greedy_next)")
    step = kernels[ends[-2] + 1:ends[-1] + 1]
    total_t = total_b = 0.0
    groups = defaultdict(lambda: [0, 0.0, 0.0])
    shapes = defaultdict(lambda: [0, 0.0, 0.0])
    print(f"{'#':>3} {'kernel':28s} {'grid':>6} {'block':>5} {'us':>8} {'MB rd':>8} {'MB wr':>7} {'GB/s':>6}")
    for i, r in enumerate(step):
        t = num(r, "gpu__time_duration.sum") * 1e-9
        rd, wr = num(r, "dram__bytes_read.sum"), num(r, "dram__bytes_write.sum")
        name = r["Kernel Name"].replace("braid_", "")
        grid = int(num(r, "launch__grid_size"))
        print(f"{i:3d} {name:28s} {grid:6d} {int(num(r, 'launch__block_size')):5d} "
              f"{t * 1e6:8.2f} {rd / 1e6:8.2f} {wr / 1e6:7.2f} {(rd + wr) / t / 1e9 if t else 0:6.0f}")
        g = groups[name]
        g[0] += 1
        g[1] += t
        g[2] += rd + wr
        # Launches of one kernel with one grid and the same bytes read are
        # one specialization at one shape (a GEMM of the model, say).
        sh = shapes[(name, grid, round(rd / 1e6))]
        sh[0] += 1
        sh[1] += t
        sh[2] += rd
        total_t += t
        total_b += rd + wr
    print(f"\n{'kernel':28s} {'count':>5} {'ms':>8} {'MB':>9} {'GB/s':>6}")
    for name, (n, t, b) in sorted(groups.items(), key=lambda kv: -kv[1][1]):
        print(f"{name:28s} {n:5d} {t * 1e3:8.3f} {b / 1e6:9.1f} {b / t / 1e9:6.0f}")
    print(f"{'step (sum of kernels)':28s} {len(step):5d} {total_t * 1e3:8.3f} "
          f"{total_b / 1e6:9.1f} {total_b / total_t / 1e9:6.0f}")
    # Per shape: the mean launch, and its rate over the bytes it read (the
    # writes include other kernels' lines leaving L2).
    print(f"\n{'kernel (same grid and reads)':28s} {'grid':>6} {'count':>5} "
          f"{'us each':>8} {'MB rd':>8} {'rd GB/s':>7}")
    for (name, grid, _), (n, t, rd) in sorted(shapes.items(),
                                               key=lambda kv: -kv[1][1]):
        print(f"{name:28s} {grid:6d} {n:5d} {t / n * 1e6:8.2f} "
              f"{rd / n / 1e6:8.2f} {rd / t / 1e9 if t else 0:7.0f}")


if __name__ == "__main__":
    main(sys.argv[1])
