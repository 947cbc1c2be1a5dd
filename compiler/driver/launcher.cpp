// dsu-cc's front door: a tiny program with no LLVM in it.
//
// kbuild and configure scripts call the compiler hundreds of times for
// probes (`-E -x c -`, `-c -x c /dev/null`, `--version`); loading clang's
// libraries only to pass such calls through doubled their cost. This
// launcher execs the real compiler directly when the command line cannot be
// "compile one real C file to an object" and otherwise execs dsu-cc-core
// (installed beside it), which decides with clang's Driver.
//
// It also runs links that involve DSU code (C sources, or objects that
// dsu-cc built): C sources are compiled through dsu-cc into objects kept in
// <output>.dsu/ (their manifests are what dsu-patchgen reads), and the
// user-space runtime is linked in, with --export-dynamic so that patches
// resolve the program's global symbols. A link of plain objects (kbuild's
// link probes) passes through untouched. <output>.dsu/ must be a directory
// of the user's own that nobody else can write to.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "Argv.h"
#include "Subprocess.h"

namespace {

// True only when the invocation certainly is not a compile-to-object of a
// real file: no "-c", or stdin/null device as an operand, or an option that
// changes the action. Anything else goes to the Driver-based classifier.
bool certainlyPassthrough(int argc, char **argv) {
  bool compile = false;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    if (!std::strcmp(a, "-c"))
      compile = true;
    else if (!std::strcmp(a, "-") || !std::strcmp(a, "/dev/null") || !std::strcmp(a, "-E") ||
             !std::strcmp(a, "-S") || !std::strcmp(a, "-M") || !std::strcmp(a, "-MM") ||
             !std::strcmp(a, "--version") || !std::strcmp(a, "-###") || !std::strcmp(a, "-v"))
      return true;
  }
  return !compile;
}

#ifndef DSU_RUNTIME_LIB
#define DSU_RUNTIME_LIB ""
#endif

bool endsWith(const std::string &s, const char *suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

bool exists(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Options whose value is the next word.
bool takesValue(const std::string &a) {
  static const char *const opts[] = {
      "-o", "-I", "-L", "-l", "-D", "-U", "-include", "-isystem", "-idirafter", "-iquote",
      "-imacros", "-MF", "-MT", "-MQ", "-Xlinker", "-Xassembler", "-Xpreprocessor", "-T", "-e",
      "-u", "-z", "--param", "-target", "--target", "-isysroot", "--sysroot", "-x", "-aux-info"};
  for (const char *o : opts)
    if (a == o)
      return true;
  return false;
}

// Options that only matter to the link step.
bool linkOnly(const std::string &a) {
  return a.rfind("-l", 0) == 0 || a.rfind("-L", 0) == 0 || a.rfind("-Wl,", 0) == 0 ||
         a == "-static" || a == "-rdynamic" || a == "-pie" || a == "-no-pie" ||
         a == "-nostdlib" || a == "-nodefaultlibs" || a == "-nostartfiles" || a == "-Xlinker" ||
         a == "-T" || a == "-e" || a == "-u" || a == "-z";
}

// Makes <output>.dsu/, or checks the one there. Its objects are what the
// program is linked from and what dsu-patchgen reads: a directory that is
// someone else's (or a symlink to one, or open to others' writes) would let
// them read those, plant their own or swap them between compile and link.
// mkdir first, then lstat whatever is at the name, so nothing can take the
// name between a check and the creation. False with an error printed.
bool ownObjectDir(const std::string &dir) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "dsu-cc: error: cannot create %s: %s\n", dir.c_str(),
                 std::strerror(errno));
    return false;
  }
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) {
    std::fprintf(stderr, "dsu-cc: error: %s: %s\n", dir.c_str(), std::strerror(errno));
    return false;
  }
  char why[128] = "";
  if (S_ISLNK(st.st_mode))
    std::snprintf(why, sizeof why, "is a symbolic link");
  else if (!S_ISDIR(st.st_mode))
    std::snprintf(why, sizeof why, "is not a directory");
  else if (st.st_uid != geteuid())
    std::snprintf(why, sizeof why, "owned by uid %u, not by you (uid %u)",
                  static_cast<unsigned>(st.st_uid), static_cast<unsigned>(geteuid()));
  else if (st.st_mode & (S_IWGRP | S_IWOTH))
    std::snprintf(why, sizeof why, "writable by others (mode %o)",
                  static_cast<unsigned>(st.st_mode & 07777));
  if (!*why)
    return true;
  std::fprintf(stderr, "dsu-cc: error: %s: %s; remove it or choose another -o\n", dir.c_str(),
               why);
  return false;
}

// Runs cmd (searched in PATH); its exit status, 127 when it cannot run.
int run(const std::vector<std::string> &cmd) {
  dsu::SubprocessResult r = dsu::runSubprocess(cmd);
  if (r.end == dsu::SubprocessResult::End::NotStarted)
    std::fprintf(stderr, "dsu-cc: error: cannot run '%s': %s\n", cmd[0].c_str(),
                 std::strerror(r.error));
  return r.status();
}

// A link step that involves DSU code; -1 when this is not one (then the
// caller passes the command through), otherwise the exit status.
int dsuLink(int argc, char **argv, const std::vector<std::string> &realCC) {
  bool any = false;
  std::string output = "a.out";
  std::vector<int> sources;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-c" || a == "-S" || a == "-E" || a == "-M" || a == "-MM" || a == "-shared" ||
        a == "-fsyntax-only" || a == "-" || a == "/dev/null" || a == "--version" ||
        a == "-###" || a == "-v" || a == "-x" || a.rfind("-x", 0) == 0 || a == "-r")
      return -1;
    if (takesValue(a)) {
      if (a == "-o" && i + 1 < argc)
        output = argv[i + 1];
      ++i;
      continue;
    }
    if (a.empty() || a[0] == '-')
      continue;
    if (endsWith(a, ".c")) {
      sources.push_back(i);
      any = true;
    } else if (endsWith(a, ".o") && exists(a + ".dsu.json")) {
      any = true;
    }
  }
  if (!any || std::strlen(DSU_RUNTIME_LIB) == 0)
    return -1;

  std::vector<std::string> link(realCC);
  std::string objDir = output + ".dsu";
  if (!sources.empty() && !ownObjectDir(objDir))
    return 1;
  std::vector<std::string> compileFlags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (takesValue(a)) {
      if (a != "-o" && !linkOnly(a)) {
        compileFlags.push_back(a);
        if (i + 1 < argc)
          compileFlags.push_back(argv[i + 1]);
      }
      ++i;
      continue;
    }
    if (!a.empty() && a[0] == '-' && !linkOnly(a))
      compileFlags.push_back(a);
  }
  std::vector<std::string> objects;
  for (size_t k = 0; k < sources.size(); ++k) {
    std::string src = argv[sources[k]];
    std::string base = src.substr(src.rfind('/') == std::string::npos ? 0 : src.rfind('/') + 1);
    base = base.substr(0, base.size() - 2);
    std::string obj = objDir + "/" + base + ".o";
    for (size_t j = 0; j < k; ++j)
      if (objects[j] == obj)
        obj = objDir + "/" + base + "-" + std::to_string(k) + ".o";
    objects.push_back(obj);
    std::vector<std::string> cc = {"/proc/self/exe"};
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
      self[n] = 0;
      cc[0] = self;
    }
    cc.insert(cc.end(), compileFlags.begin(), compileFlags.end());
    cc.insert(cc.end(), {"-c", src, "-o", obj});
    if (int rc = run(cc))
      return rc;
  }
  size_t next = 0;
  for (int i = 1; i < argc; ++i) {
    if (next < sources.size() && sources[next] == i)
      link.push_back(objects[next++]);
    else
      link.push_back(argv[i]);
  }
  link.insert(link.end(), {"-Wl,--export-dynamic", DSU_RUNTIME_LIB, "-lpthread", "-ldl"});
  return run(link);
}

std::string selfDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return ".";
  buf[n] = 0;
  std::string s(buf);
  return s.substr(0, s.rfind('/'));
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> words;
  if (certainlyPassthrough(argc, argv)) {
    words = dsu::realCompilerWords();
    if (int rc = dsuLink(argc, argv, words); rc >= 0)
      return rc;
  } else {
    words.push_back(selfDir() + "/dsu-cc-core");
  }
  words.insert(words.end(), argv + 1, argv + argc);
  dsu::execOrExit(words, "dsu-cc");
}
