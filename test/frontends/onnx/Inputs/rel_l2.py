#!/usr/bin/env python3
"""Compares the F32 tensor `logits` of two safetensors files, row by row.

    rel_l2.py BRAID.safetensors REFERENCE.safetensors TOLERANCE

Prints `row N rel-L2 E` (E = ||braid - ref|| / ||ref|| over row N of the
leading dimension) and exits 1 when any row exceeds TOLERANCE. Standard
library only, so lit can run it without numpy.
"""
import json
import math
import struct
import sys


def read_logits(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    entry = header["logits"]
    assert entry["dtype"] == "F32", f"{path}: logits are {entry['dtype']}"
    begin, end = entry["data_offsets"]
    base = 8 + length
    values = struct.unpack(f"<{(end - begin) // 4}f", data[base + begin:base + end])
    return entry["shape"], values


def main():
    braid_path, ref_path, tolerance = sys.argv[1], sys.argv[2], float(sys.argv[3])
    shape, got = read_logits(braid_path)
    ref_shape, want = read_logits(ref_path)
    if shape != ref_shape:
        print(f"shape mismatch: {shape} vs {ref_shape}")
        return 1
    row = len(got) // shape[0]
    failed = False
    for r in range(shape[0]):
        a, b = got[r * row:(r + 1) * row], want[r * row:(r + 1) * row]
        err = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
        err /= math.sqrt(sum(y * y for y in b))
        ok = err <= tolerance
        failed |= not ok
        print(f"row {r} rel-L2 {err:.2e} {'ok' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
