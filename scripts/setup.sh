#!/usr/bin/env bash
# Installs everything Braid needs to build and test on Debian 12 (bookworm).
# Idempotent: when everything is present it prints one line and exits.
# Used by the README commands, scripts/test.sh, scripts/demo.sh and CI.
set -euo pipefail

# Debian packages, one per line with the reason it is needed.
packages=(
  llvm-22-dev      # LLVM 22 headers, CMake package, libLLVM
  libmlir-22-dev   # MLIR 22 headers, static libraries, CMake package
  mlir-22-tools    # mlir-tblgen (ODS code and doc generation)
  llvm-22-tools    # lit, FileCheck, not, count, split-file
  clang-22         # HIP device compilation (targets/hip)
  lld-22           # ld.lld for AMD code objects
  libamdhip64-dev  # HIP headers (targets/hip) and libamdhip64 (runtime HIP backend tests)
  rocm-device-libs # ROCm device bitcode (ocml, ockl, oclc_*) linked into AMD code objects
  libonnx-dev      # ONNX protobuf classes (compiler/frontends/onnx)
  libprotobuf-dev  # protobuf runtime the ONNX classes use
  protobuf-compiler # protoc (the CMake Protobuf module wants it)
  cmake            # build system (3.20 or newer)
  ninja-build      # build generator used by the presets
  g++              # host compiler
  python3          # lit runs on Python 3
  libgtest-dev     # GoogleTest for the unit suite
  nlohmann-json3-dev # JSON parser of the runtime (bundle manifest, safetensors)
)
names=()
for entry in "${packages[@]}"; do names+=("${entry%% *}"); done

missing=()
for pkg in "${names[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#names[@]} Debian packages present"
  exit 0
fi

echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || {
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  echo "setup: apt-get failed; its output:" >&2
  cat "$log" >&2
  exit 1
fi
rm -f "$log"
echo "setup: installed ${missing[*]}"
