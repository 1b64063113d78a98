#!/usr/bin/env python3
"""Checks that every kernel entry starts with BRAID_KERNEL_PROLOGUE().

For kernel-prologue.test: reads C++/CUDA sources (braidc --emit=source output,
device headers), finds every definition `extern "C" __global__ void ...
NAME(BraidKernelParams ...) {` (also inside a multi-line macro, whose line
continuations are joined first) and prints one line per entry whose body does
not begin with `BRAID_KERNEL_PROLOGUE();`, then a summary:

    N entries, M without BRAID_KERNEL_PROLOGUE, W weights first

An entry may begin with `BRAID_KERNEL_PROLOGUE_WEIGHTS_FIRST();` instead only
when its body calls a GEMM that waits itself (`..., true>(ops, M);`): counted
in W; without that call it is reported as missing the prologue.
"""
import re
import sys

ENTRY = re.compile(r'extern\s+"C"\s+__global__\s+void\b[^;{]*?'
                   r'([A-Za-z_][A-Za-z_0-9#]*)\s*\(\s*BraidKernelParams\s+\w+\s*\)'
                   r'\s*\{')
# A GEMM instantiated to wait for the previous kernel itself.
WAITING_GEMM = re.compile(r'\w+<.*,\s*true>\(ops, M\);')


def main(paths):
    entries = missing = weights_first = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read().replace("\\\n", "\n")
        for m in ENTRY.finditer(text):
            entries += 1
            body = text[m.end():].lstrip()
            if body.startswith("BRAID_KERNEL_PROLOGUE_WEIGHTS_FIRST();"):
                # The body up to the entry's closing brace at column 0.
                end = body.find("\n}")
                if WAITING_GEMM.search(body[:end if end >= 0 else len(body)]):
                    weights_first += 1
                    continue
            if not body.startswith("BRAID_KERNEL_PROLOGUE();"):
                missing += 1
                first = body.split("\n", 1)[0].strip()
                print(f"{path}: {m.group(1)} starts with: {first}")
    print(f"{entries} entries, {missing} without BRAID_KERNEL_PROLOGUE, "
          f"{weights_first} weights first")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
