#include "Argv.h"

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/Driver/Action.h>
#include <clang/Driver/Compilation.h>
#include <clang/Driver/Driver.h>
#include <clang/Driver/Options.h>
#include <clang/Driver/Types.h>
#include <llvm/Option/ArgList.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/VirtualFileSystem.h>
#include <llvm/TargetParser/Host.h>

#include <memory>

using namespace clang;
using namespace clang::driver;
using llvm::opt::Arg;

namespace dsu {

namespace {

CompileJob passthrough(std::string why) {
  CompileJob j;
  j.passthroughWhy = std::move(why);
  return j;
}

// Options that make the invocation anything but "compile to an object".
bool changesAction(const Arg *a) {
  const llvm::opt::Option &o = a->getOption();
  if (o.matches(options::OPT_c))
    return false;
  return o.matches(options::OPT_Action_Group) || o.matches(options::OPT_emit_llvm) ||
         o.matches(options::OPT__HASH_HASH_HASH) || o.matches(options::OPT_v) ||
         o.matches(options::OPT__version) || o.matches(options::OPT_help) ||
         o.matches(options::OPT_M) || o.matches(options::OPT_MM) ||
         o.matches(options::OPT_save_temps) || o.matches(options::OPT_save_temps_EQ) ||
         o.matches(options::OPT__analyze) || o.matches(options::OPT_fdriver_only) ||
         o.matches(options::OPT_arch) || o.matches(options::OPT_dumpmachine) ||
         o.matches(options::OPT_print_file_name_EQ) || o.matches(options::OPT_print_prog_name_EQ) ||
         o.matches(options::OPT_fmodules);
}

bool isPreprocessorOnly(const Arg *a) {
  const llvm::opt::Option &o = a->getOption();
  return o.matches(options::OPT_Preprocessor_Group) || o.matches(options::OPT_M_Group) ||
         o.matches(options::OPT_clang_i_Group) || o.matches(options::OPT_I_Group) ||
         o.matches(options::OPT_IncludePath_Group) || o.matches(options::OPT_Wp_COMMA) ||
         o.matches(options::OPT_nostdinc) || o.matches(options::OPT_include) ||
         o.matches(options::OPT_imacros);
}

bool requestsDeps(const llvm::opt::InputArgList &args) {
  if (args.hasArg(options::OPT_MD, options::OPT_MMD))
    return true;
  for (const Arg *a : args.filtered(options::OPT_Wp_COMMA))
    for (const char *v : a->getValues())
      if (llvm::StringRef(v) == "-MD" || llvm::StringRef(v) == "-MMD")
        return true;
  return false;
}

// -Wp,-MD,file / -Wp,-MMD,file (kbuild's dependency request).
bool isDependencyWp(const Arg *a) {
  return a->getOption().matches(options::OPT_Wp_COMMA) && a->getNumValues() > 0 &&
         llvm::StringRef(a->getValue(0)).starts_with("-M");
}

std::vector<std::string> render(const llvm::opt::InputArgList &args, const Arg *a) {
  llvm::opt::ArgStringList out;
  a->render(args, out);
  return std::vector<std::string>(out.begin(), out.end());
}

} // namespace

CompileJob classifyCommandLine(const std::vector<std::string> &argsIn, const std::string &clangPath) {
  const llvm::opt::OptTable &table = getDriverOptTable();
  std::vector<const char *> argv;
  for (const std::string &s : argsIn)
    argv.push_back(s.c_str());
  unsigned missingIndex = 0, missingCount = 0;
  llvm::opt::InputArgList args =
      table.ParseArgs(argv, missingIndex, missingCount,
                      llvm::opt::Visibility(options::ClangOption));
  if (missingCount)
    return passthrough("an option is missing its value");
  if (args.hasArg(options::OPT_UNKNOWN))
    return passthrough("unknown option");
  if (!args.hasArg(options::OPT_c))
    return passthrough("no -c");
  for (const Arg *a : args)
    if (changesAction(a))
      return passthrough("'" + a->getAsString(args) + "' changes what the compiler does");

  // Exactly one input, of type C.
  const Arg *input = nullptr;
  types::ID inputType = types::TY_INVALID;
  types::ID forced = types::TY_INVALID;
  for (const Arg *a : args) {
    if (a->getOption().matches(options::OPT_x)) {
      llvm::StringRef v = a->getValue();
      forced = v == "none" ? types::TY_INVALID : types::lookupTypeForTypeSpecifier(v.data());
      if (v != "none" && forced == types::TY_INVALID)
        return passthrough("unknown -x language");
    } else if (a->getOption().getKind() == llvm::opt::Option::InputClass) {
      if (input)
        return passthrough("more than one input");
      input = a;
      llvm::StringRef ext = llvm::sys::path::extension(a->getValue());
      inputType = forced != types::TY_INVALID
                      ? forced
                      : (ext.empty() ? types::TY_INVALID : types::lookupTypeForExtension(ext.drop_front()));
    } else if (a->getOption().matches(options::OPT_l) || a->getOption().matches(options::OPT_Wl_COMMA)) {
      return passthrough("linker input");
    }
  }
  if (!input)
    return passthrough("no input");
  if (inputType != types::TY_C)
    return passthrough("input is not C");
  std::string source = input->getValue();
  if (source == "-" || source == "/dev/null")
    return passthrough("input is a probe (stdin or /dev/null)");
  if (!llvm::sys::fs::is_regular_file(source))
    return passthrough("input is not a regular file");

  std::string object;
  if (const Arg *o = args.getLastArg(options::OPT_o))
    object = o->getValue();
  else
    object = llvm::sys::path::stem(source).str() + ".o";
  if (object == "-" || object == "/dev/null")
    return passthrough("output is not a file");

  // Let the driver itself confirm: one compile-to-object job for a C input.
  {
    IntrusiveRefCntPtr<DiagnosticOptions> diagOpts(new DiagnosticOptions);
    IgnoringDiagConsumer ignore;
    DiagnosticsEngine diags(new DiagnosticIDs, &*diagOpts, &ignore, false);
    Driver drv(clangPath, llvm::sys::getDefaultTargetTriple(), diags);
    std::vector<const char *> full = {clangPath.c_str()};
    full.insert(full.end(), argv.begin(), argv.end());
    std::unique_ptr<Compilation> comp(drv.BuildCompilation(full));
    if (!comp || comp->containsError())
      return passthrough("the driver rejects the command line");
    if (comp->getJobs().size() != 1)
      return passthrough("not a single compiler job");
    const Action *top = comp->getActions().size() == 1 ? comp->getActions()[0] : nullptr;
    if (!top || top->getType() != types::TY_Object)
      return passthrough("does not produce an object");
  }

  CompileJob job;
  job.instrument = true;
  job.source = source;
  job.object = object;
  for (const Arg *a : args.filtered(options::OPT_D))
    if (llvm::StringRef(a->getValue()) == "__KERNEL__")
      job.kernel = true;

  const bool deps = requestsDeps(args);
  const bool depTarget = args.hasArg(options::OPT_MT, options::OPT_MQ);
  const bool depFile = args.hasArg(options::OPT_MF) ||
                       [&] {
                         for (const Arg *a : args.filtered(options::OPT_Wp_COMMA))
                           if (a->getNumValues() >= 2)
                             return true; // -Wp,-MMD,file names the file
                         return false;
                       }();

  for (const Arg *a : args) {
    const llvm::opt::Option &o = a->getOption();
    const bool isInput = a == input;
    const bool isX = o.matches(options::OPT_x);
    // The real compiler's -E: everything but -c/-o and dependency output.
    if (!o.matches(options::OPT_c) && !o.matches(options::OPT_o) &&
        !o.matches(options::OPT_M_Group) && !isDependencyWp(a))
      for (auto &s : render(args, a))
        job.preprocessOnlyArgs.push_back(s);
    // In-process parse of the original source: everything but -c/-o, the
    // input (appended last) and dependency output (dependencyArgs).
    if (!isInput && !o.matches(options::OPT_c) && !o.matches(options::OPT_o)) {
      const bool dependency = o.matches(options::OPT_M_Group) || isDependencyWp(a);
      for (auto &s : render(args, a))
        (dependency ? job.dependencyArgs : job.parseArgs).push_back(s);
    }
    // Compile of the rewritten preprocessed unit: no preprocessor options.
    if (isInput || isX || isPreprocessorOnly(a))
      continue;
    for (auto &s : render(args, a))
      job.compileArgs.push_back(s);
  }
  // The parse has no -o: the dependency target and file would be named after
  // the input; they name the object, as the compile's would.
  if (deps && !depTarget)
    job.dependencyArgs.insert(job.dependencyArgs.end(), {"-MT", object});
  if (deps && !depFile) {
    llvm::SmallString<256> d(object);
    llvm::sys::path::replace_extension(d, "d");
    job.dependencyArgs.insert(job.dependencyArgs.end(), {"-MF", std::string(d)});
  }
  job.preprocessOnlyArgs.push_back("-E");
  // Preprocessor options left in (like -fmacro-prefix-map) are unused on
  // preprocessed input, and kbuild makes that warning an error. Beyond that,
  // warnings on the preprocessed unit lack macro context (clang silences many
  // inside macro expansions), so the rewritten unit is compiled without
  // warnings; errors still fail it, which falls back to the original compile.
  job.compileArgs.push_back("-Wno-unused-command-line-argument");
  job.compileArgs.push_back("-w");
  return job;
}

} // namespace dsu
