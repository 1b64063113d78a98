#!/usr/bin/env python3
"""Writes a GPU bundle for braid-run tests without braidc or a GPU toolchain.

  make-gpu-bundle.py MANIFEST OUT ARCH...

MANIFEST is a CPU manifest (tiny-manifest.json: the tiny model of
test/unit/runtime/TestUtil.cpp, tinyManifest(false), dumped as is). Each ARCH
("gfx942", "sm_90a") gets a section code.ARCH holding a BKAR archive
(docs/cuda.md "Code sections") with one fake module "kfake"; targets become
the vendors and ARCHs, and every launch gains a "hip" and/or "cuda" object
running "fake_<family>" from it. The payload is not a real code object:
loading it on a GPU fails, which these tests never reach.
Standard library only; the container layout is runtime/include/braid/
bundle_format.h.
"""
import json
import struct
import sys
import zlib

HEADER = struct.Struct("<8sIIQII")  # magic, version, count, size, crc, reserved
ENTRY = struct.Struct("<24sQQII")    # name, offset, size, crc, reserved


def dim(constant, per_batch_token=0):
    return {"constant": constant, "per_batch": 0, "per_token": 0,
            "per_batch_token": per_batch_token, "divisor": 1}


def archive(modules):
    out = b"BKAR" + struct.pack("<II", 1, len(modules))
    for name, payload in modules:
        out += struct.pack("<I", len(name)) + name.encode()
        out += struct.pack("<Q", len(payload)) + payload
    return out


def align(n):
    return (n + 63) // 64 * 64


def write_bundle(path, sections):
    table = HEADER.size + ENTRY.size * len(sections)
    offset, entries = align(table), []
    for name, payload in sections:
        entries.append((name, offset, payload))
        offset = align(offset + len(payload))
    size = entries[-1][1] + len(entries[-1][2])
    packed = b"".join(ENTRY.pack(n.encode(), o, len(p), zlib.crc32(p), 0)
                      for n, o, p in entries)
    header = HEADER.pack(b"BRAIDBDL", 1, len(sections), size, 0, 0)
    crc = zlib.crc32(header + packed)
    data = bytearray(size)
    data[:table] = HEADER.pack(b"BRAIDBDL", 1, len(sections), size, crc, 0) + packed
    for _, o, p in entries:
        data[o:o + len(p)] = p
    open(path, "wb").write(data)


def main():
    manifest_path, out, archs = sys.argv[1], sys.argv[2], sys.argv[3:]
    m = json.load(open(manifest_path))
    amd = [a for a in archs if a.startswith("gfx")]
    nvidia = [a for a in archs if not a.startswith("gfx")]
    m["targets"] = (["cuda"] + nvidia if nvidia else []) + (["hip"] + amd if amd else [])
    functions = set()
    for entry in m["entries"]:
        for launch in entry["launches"]:
            function = "fake_" + launch["kernel"]
            functions.add(function)
            code = {"module": "kfake", "workspace": dim(0),
                    "kernels": [{"function": function,
                                 "grid": [dim(0, 1), dim(1), dim(1)],
                                 "block": [64, 1, 1], "shared_bytes": 0}]}
            for vendor, used in (("cuda", nvidia), ("hip", amd)):
                if used:
                    launch[vendor] = code
    fake = ("FAKE\n" + "\n".join(sorted(functions)) + "\n\0").encode()
    sections = [("manifest", json.dumps(m, indent=1).encode())]
    sections += [("code." + a, archive([("kfake", fake)])) for a in archs]
    write_bundle(out, sections)


if __name__ == "__main__":
    main()
