#!/usr/bin/env python3
"""Checks that every kernel entry starts with BRAID_KERNEL_PROLOGUE().

For kernel-prologue.test: reads C++/CUDA sources (braidc --emit=source output,
device headers), finds every definition `extern "C" __global__ void ...
NAME(BraidKernelParams ...) {` (also inside a multi-line macro, whose line
continuations are joined first) and prints one line per entry whose body does
not begin with `BRAID_KERNEL_PROLOGUE();`, then a summary:

    N entries, M without BRAID_KERNEL_PROLOGUE
"""
import re
import sys

ENTRY = re.compile(r'extern\s+"C"\s+__global__\s+void\b[^;{]*?'
                   r'([A-Za-z_][A-Za-z_0-9#]*)\s*\(\s*BraidKernelParams\s+\w+\s*\)'
                   r'\s*\{')


def main(paths):
    entries = missing = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read().replace("\\\n", "\n")
        for m in ENTRY.finditer(text):
            entries += 1
            body = text[m.end():].lstrip()
            if not body.startswith("BRAID_KERNEL_PROLOGUE();"):
                missing += 1
                first = body.split("\n", 1)[0].strip()
                print(f"{path}: {m.group(1)} starts with: {first}")
    print(f"{entries} entries, {missing} without BRAID_KERNEL_PROLOGUE")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
