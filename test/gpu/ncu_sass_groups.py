"""Where a kernel's instructions and warp samples go, from Nsight Compute's
SASS source page:

  ncu --set full -k regex:NAME -c 1 -o REP BINARY ARGS...
  ncu -i REP.ncu-rep --page source --csv --print-source sass > SASS.csv
  python3 ncu_sass_groups.py SASS.csv [--warps N] [--top K]

For each kernel of the page (the first profile of each name), the SASS
instructions are grouped by how often they executed: instructions in one
loop body run equally often, so a group is a region of the kernel (the
prologue, a loop, a branch taken by some warps). Each group prints its
share of the executed instructions and of the warp samples, and the opcodes
with the most samples; with --warps (the kernel's warps that ran) also the
instructions a warp executes in it per pass. --top lists the K instructions
with the most samples. Opcodes drop their predicate and modifiers.
usage: python3 ncu_sass_groups.py SASS.csv [--warps N] [--top K]"""
import argparse
import csv
from collections import Counter, defaultdict


def kernels(path):
    """(name, rows) per kernel: the page repeats a header per profile."""
    out, name, header = [], None, None
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if len(row) >= 2 and row[0] == "Kernel Name":
                name, header = row[1], None
                continue
            if name is None:
                continue
            if header is None:
                header = row
                out.append((name, []))
                continue
            out[-1][1].append(dict(zip(header, row)))
    return out


def num(row, key):
    v = (row.get(key) or "").replace(",", "").strip()
    return float(v) if v else 0.0


def opcode(source):
    words = source.split()
    if not words:
        return ""
    op = words[1] if words[0].startswith("@") and len(words) > 1 else words[0]
    return op.split(".")[0]


def report(name, rows, warps, top):
    samples_key = "Warp Stall Sampling (All Samples)"
    executed_key = "Instructions Executed"
    executed = sum(num(r, executed_key) for r in rows)
    samples = sum(num(r, samples_key) for r in rows) or 1.0
    print(f"== {name}: {executed:.0f} instructions executed, "
          f"{samples:.0f} warp samples, {len(rows)} SASS instructions")
    groups = defaultdict(lambda: [0, 0.0, 0.0, Counter()])
    for r in rows:
        e, s = num(r, executed_key), num(r, samples_key)
        if e == 0 and s == 0:
            continue
        g = groups[e]
        g[0] += 1
        g[1] += e
        g[2] += s
        g[3][opcode(r.get("Source", ""))] += s
    for e, (count, ex, smp, ops) in sorted(groups.items(),
                                           key=lambda kv: -kv[1][2]):
        if smp / samples < 0.01 and ex / max(executed, 1.0) < 0.01:
            continue
        per = f"  {e / warps:6.2f} passes a warp" if warps else ""
        hot = ", ".join(f"{op} {c / samples * 100:.1f}%"
                        for op, c in ops.most_common(5))
        print(f"  executed {e:10.0f} x {count:4d} instructions{per}:"
              f" {ex / max(executed, 1.0) * 100:5.1f}% of instructions,"
              f" {smp / samples * 100:5.1f}% of samples ({hot})")
    if top:
        print(f"  the {top} instructions with the most samples:")
        for r in sorted(rows, key=lambda r: -num(r, samples_key))[:top]:
            print(f"    {num(r, samples_key) / samples * 100:5.2f}%"
                  f"  {num(r, executed_key):9.0f}  {r.get('Source', '')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv")
    ap.add_argument("--warps", type=float, default=0,
                    help="warps the kernel ran (grid blocks x warps a block)")
    ap.add_argument("--top", type=int, default=0)
    a = ap.parse_args()
    seen = set()
    for name, rows in kernels(a.csv):
        if name in seen:
            continue
        seen.add(name)
        report(name, rows, a.warps, a.top)


if __name__ == "__main__":
    main()
