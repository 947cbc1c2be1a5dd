# lit configuration for the DSU tool tests (rewrite goldens, reasons, driver).
import os
import lit.formats

config.name = "dsu"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".c", ".test"]
config.excludes = ["Inputs", "tools", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.dsu_build_dir, "test", "lit")

llvm_bin = config.llvm_tools_dir
config.environment["PATH"] = os.pathsep.join([llvm_bin, config.environment.get("PATH", "")])
for var in ("DSU_CONFIG", "DSU_STRICT", "DSU_KEEP_TEMPS", "DSU_REAL_CC", "DSU_TIME"):
    config.environment.pop(var, None)

tools = os.path.join(os.path.dirname(__file__), "tools")
config.substitutions.append(("%clang", config.clang))
config.substitutions.append(("%dsucc", config.dsucc))
config.substitutions.append(("%plugin", config.plugin))
config.substitutions.append(("%patchgen", config.patchgen))
config.substitutions.append(("%analyze", config.analyze))
config.substitutions.append(("%dsucheck", config.check))
config.substitutions.append(("%dsuctl", config.dsuctl))
config.substitutions.append(("%sarifcheck", config.python + " " + os.path.join(tools, "sarif_check.py")))
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%mfuncs", config.python + " " + os.path.join(tools, "mfuncs.py")))
config.substitutions.append(("%rewrite",
    config.clang + " -fsyntax-only -fplugin=" + config.plugin))
