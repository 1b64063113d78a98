#!/usr/bin/env python3
"""Inspect the GPU code of a Braid bundle (docs/bundle.md, docs/cuda.md, docs/amd.md).

  bundle-code.py BUNDLE                 sections and, per code section, its modules
  bundle-code.py BUNDLE --manifest      the manifest JSON
  bundle-code.py BUNDLE --check         cross-check manifest and code sections:
                                        every launch names a module present in
                                        the code section of each architecture it
                                        runs on, every launched function is in
                                        that module, no module is unused
  bundle-code.py BUNDLE --extract ARCH FUNCTION OUT
                                        write the code object (or PTX) that the
                                        first launch running FUNCTION uses on
                                        ARCH to OUT (for llvm-objdump, readelf)

Standard library only. Exit status 1 on a malformed bundle or a failed check.
"""
import json
import struct
import sys

HEADER = struct.Struct("<8sIIQII")      # magic, version, count, size, crc, reserved
ENTRY = struct.Struct("<24sQQII")        # name, offset, size, crc, reserved


def fail(message):
    print("bundle-code.py: error: " + message, file=sys.stderr)
    sys.exit(1)


def read_sections(path):
    data = open(path, "rb").read()
    if len(data) < HEADER.size or data[:8] != b"BRAIDBDL":
        fail(path + ": not a Braid bundle")
    _, _, count, _, _, _ = HEADER.unpack_from(data, 0)
    sections = {}
    for i in range(count):
        name, offset, size, _, _ = ENTRY.unpack_from(data, HEADER.size + i * ENTRY.size)
        sections[name.rstrip(b"\0").decode()] = data[offset:offset + size]
    return sections


def read_archive(name, payload):
    if payload[:4] != b"BKAR":
        fail(name + ": not a code archive (no 'BKAR' magic)")
    _, version, count = struct.unpack_from("<4sII", payload, 0)
    if version != 1:
        fail("%s: archive version %d" % (name, version))
    pos, members = 12, {}
    for _ in range(count):
        (length,) = struct.unpack_from("<I", payload, pos)
        pos += 4
        module = payload[pos:pos + length].decode()
        pos += length
        (size,) = struct.unpack_from("<Q", payload, pos)
        pos += 8
        members[module] = payload[pos:pos + size]
        pos += size
    if pos != len(payload):
        fail("%s: %d trailing bytes" % (name, len(payload) - pos))
    return members


def kind(blob):
    if blob[:4] == b"\x7fELF":
        # e_machine 0xE0: AMDGPU (an HSA code object); else NVIDIA's cubin.
        return "hsaco" if blob[18:20] == b"\xe0\x00" else "cubin"
    if blob.endswith(b"\0") and b".entry" in blob:
        return "ptx"
    return "?"


def vendor_of(arch):
    """The manifest key of a code section's architecture."""
    return "hip" if arch.startswith("gfx") else "cuda"


def launch_code(launch, arch):
    gpu = launch.get(vendor_of(arch), {})
    return gpu.get("by_arch", {}).get(arch, gpu)


def extract(manifest, archives, arch, function, out):
    if arch not in archives:
        fail("no code section code.%s" % arch)
    for entry in manifest["entries"]:
        for launch in entry["launches"]:
            code = launch_code(launch, arch)
            if any(k["function"] == function for k in code.get("kernels", [])):
                open(out, "wb").write(archives[arch][code["module"]])
                return
    fail("no launch runs %s on %s" % (function, arch))


def check(manifest, archives):
    errors, used = [], {arch: set() for arch in archives}
    for entry in manifest["entries"]:
        for index, launch in enumerate(entry["launches"]):
            where = "%s #%d (%s at '%s')" % (entry["name"], index, launch["kernel"], launch["loc"])
            for arch, members in archives.items():
                vendor = vendor_of(arch)
                gpu = launch.get(vendor)
                if gpu is None:
                    errors.append(where + ": no '%s' object" % vendor)
                    continue
                code = gpu.get("by_arch", {}).get(arch, gpu)
                module = code["module"]
                used[arch].add(module)
                if module not in members:
                    errors.append("%s: module %s is not in code.%s" % (where, module, arch))
                    continue
                blob = members[module]
                for kernel in code["kernels"]:
                    fn = kernel["function"].encode()
                    if kind(blob) == "ptx":
                        found = b".entry " + fn + b"(" in blob
                    else:
                        found = fn + b"\0" in blob
                    if not found:
                        errors.append("%s: function %s is not in %s for %s" % (where, kernel["function"], module, arch))
                    if len(kernel["grid"]) != 3 or len(kernel["block"]) != 3:
                        errors.append(where + ": grid and block need 3 dimensions")
    for arch, members in archives.items():
        for module in sorted(set(members) - used[arch]):
            errors.append("code.%s: module %s is not launched" % (arch, module))
    return errors


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print(__doc__.strip())
        sys.exit(2)
    sections = read_sections(args[0])
    if "manifest" not in sections:
        fail("the bundle has no manifest")
    manifest = json.loads(sections["manifest"].decode())
    archives = {name[5:]: read_archive(name, payload)
                for name, payload in sections.items() if name.startswith("code.")}
    if "--extract" in args:
        i = args.index("--extract")
        if len(args) < i + 4:
            fail("--extract needs ARCH FUNCTION OUT")
        extract(manifest, archives, args[i + 1], args[i + 2], args[i + 3])
        return
    if "--manifest" in args:
        print(json.dumps(manifest, indent=1))
        return
    if "--check" in args:
        errors = check(manifest, archives)
        for error in errors:
            print("bundle-code.py: error: " + error, file=sys.stderr)
        if errors:
            sys.exit(1)
        launches = sum(len(e["launches"]) for e in manifest["entries"])
        print("ok: %d launches, %s" % (launches, ", ".join(
            "code.%s %d modules" % (arch, len(m)) for arch, m in archives.items())))
        return
    print("targets: " + ", ".join(manifest.get("targets", [])))
    print("element_type: " + manifest.get("element_type", "f32"))
    for name, payload in sections.items():
        print("section %s: %d bytes" % (name, len(payload)))
        if name.startswith("code."):
            for module, blob in read_archive(name, payload).items():
                print("  %s %s %d bytes" % (module, kind(blob), len(blob)))


if __name__ == "__main__":
    main()
