# Lit configuration of the Braid test suite (IR, passes, tools).
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "BRAID"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".braid", ".json"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.braid_obj_root, "test")

# Inputs that tests read but that are not tests themselves.
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit",
                   "data", "Inputs", "README.md"]

config.substitutions.append(("%braid_src", config.braid_src_root))
config.substitutions.append(("%goldens", config.braid_goldens_dir))
config.substitutions.append(
    ("%onnx_data", os.path.join(config.braid_src_root, "test", "data", "onnx")))
config.substitutions.append(
    ("%variants", os.path.join(config.braid_src_root, "test", "data", "variants")))

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()

tool_dirs = [config.braid_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["braid-opt", "braidc", "braid-run"], tool_dirs)
for tool in ["FileCheck", "not", "count", "split-file"]:
    llvm_config.add_tool_substitutions([tool], [config.llvm_tools_dir])

# GPU code generation: tests that run nvcc (no GPU needed) require the
# feature "nvcc"; compiled kernels are cached across runs in the build tree.
def find_nvcc():
    candidates = []
    if os.environ.get("CUDA_HOME"):
        candidates.append(os.path.join(os.environ["CUDA_HOME"], "bin", "nvcc"))
    candidates.append("/usr/local/cuda/bin/nvcc")
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    import shutil
    return shutil.which("nvcc")

if find_nvcc():
    config.available_features.add("nvcc")
# HIP code generation (docs/amd.md): clang 22 with Debian's HIP headers and
# the device libraries this build completed (targets/hip/DeviceLibs.cmake).
if (os.path.exists(os.path.join(config.llvm_tools_dir, "clang"))
        and os.path.exists("/usr/include/hip/hip_runtime.h")
        and os.path.exists(os.path.join(config.braid_obj_root, "amdgcn", "bitcode",
                                        "oclc_isa_version_942.bc"))):
    config.available_features.add("hip")
llvm_config.add_tool_substitutions(["llvm-readelf", "llvm-objdump"], [config.llvm_tools_dir])
llvm_config.with_system_environment(["CUDA_HOME", "PATH", "XDG_CACHE_HOME"])
config.substitutions.append(
    ("%kernel_cache", os.path.join(config.braid_obj_root, "test", "kernel-cache")))
config.substitutions.append(
    ("%configs", os.path.join(config.braid_src_root, "test", "data", "configs")))
