#!/usr/bin/env python3
"""Checks that every kernel entry starts with BRAID_KERNEL_PROLOGUE().

For kernel-prologue.test: reads C++/CUDA sources (braidc --emit=source output,
device headers), finds every definition `extern "C" __global__ void ...
NAME(BraidKernelParams ...) {` (also inside a multi-line macro, whose line
continuations are joined first) and prints one line per entry whose body does
not begin with `BRAID_KERNEL_PROLOGUE();`, then a summary:

    N entries, M without BRAID_KERNEL_PROLOGUE, R reads first

An entry may begin with `BRAID_KERNEL_PROLOGUE_READS_FIRST();` instead only
when its body (up to the matching closing brace) waits for the previous
kernel itself: it calls `waitForPrerequisiteGrids();`, or a GEMM instantiated
to wait (`..., true>(ops, M);`) or a TMA GEMM (`tmaGemm<...>(ops, M, maps);`,
`tmaSplitK<...>(ops, M, maps);`, which wait in their producer and consumers).
Entries with a tensor-map parameter count too. Those are counted in R; one
that does neither is reported as missing the prologue.
"""
import re
import sys

ENTRY = re.compile(r'extern\s+"C"\s+__global__\s+void\b[^;{]*?'
                   r'([A-Za-z_][A-Za-z_0-9#]*)\s*\(\s*BraidKernelParams\s+\w+'
                   r'(?:\s*,\s*const\s+__grid_constant__\s+BraidTensorMaps\s+\w+)?'
                   r'\s*\)\s*\{')
READS_FIRST = "BRAID_KERNEL_PROLOGUE_READS_FIRST();"
# The entry waits itself: an explicit wait, or a GEMM instantiated to wait.
WAITS = re.compile(r'\bwaitForPrerequisiteGrids\(\);|\w+<.*,\s*true>\(ops, M\);'
                   r'|\b(?:tmaGemm|tmaSplitK)<.*>\(ops, M, maps\);')


def body_of(text, start):
    """The entry's body from `start` (just after its `{`) to the matching
    closing brace."""
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start:i]
    return text[start:]


def main(paths):
    entries = missing = reads_first = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read().replace("\\\n", "\n")
        for m in ENTRY.finditer(text):
            entries += 1
            body = body_of(text, m.end()).lstrip()
            if body.startswith(READS_FIRST) and WAITS.search(body):
                reads_first += 1
                continue
            if not body.startswith("BRAID_KERNEL_PROLOGUE();"):
                missing += 1
                first = body.split("\n", 1)[0].strip()
                print(f"{path}: {m.group(1)} starts with: {first}")
    print(f"{entries} entries, {missing} without BRAID_KERNEL_PROLOGUE, "
          f"{reads_first} reads first")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
