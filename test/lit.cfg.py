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
    ("%variants", os.path.join(config.braid_src_root, "test", "data", "variants")))

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()

tool_dirs = [config.braid_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["braid-opt", "braidc", "braid-run"], tool_dirs)
for tool in ["FileCheck", "not", "count", "split-file"]:
    llvm_config.add_tool_substitutions([tool], [config.llvm_tools_dir])
