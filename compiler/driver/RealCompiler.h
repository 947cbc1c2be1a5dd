// The real compiler (DSU_REAL_CC): running it, exec'ing it, and compiling
// in this process when it is the clang dsu-cc parses with.
#pragma once
#include "NotEmitted.h"

#include <string>
#include <vector>

#ifndef DSU_DEFAULT_CLANG
#define DSU_DEFAULT_CLANG "/usr/lib/llvm-19/bin/clang"
#endif

// Replaces dsu-cc-core with the real compiler run on `args`.
[[noreturn]] void execReal(const std::vector<std::string> &cc, const std::vector<std::string> &args);

// Runs the real compiler; stderr goes to `errFile` when given. Returns the
// exit status (127 when it cannot be run, with an error printed).
int runReal(const std::vector<std::string> &cc, const std::vector<std::string> &args,
            const std::string &errFile = "");

// Whether the real compiler is the clang dsu-cc parses with (through a
// launcher such as ccache, with no options of its own): then the parse's
// token stream is exactly what its -E would print.
bool isParserClang(const std::vector<std::string> &cc);

// Compiles with the clang dsu-cc parses with, in this process: when that is
// the real compiler (DSU_REAL_CC is exactly it), this saves loading clang's
// libraries a second time per unit. Diagnostics go to `errFile`. -1 when
// the compile could not be run here (the caller runs the real compiler).
// With `notEmitted`, the optimized module is read for what the plain compile
// would not emit (NotEmitted.h).
int compileInProcess(const std::vector<std::string> &args, const std::string &errFile,
                     dsu::NotEmitted *notEmitted = nullptr);

// The file's contents ("" when it cannot be read).
std::string slurp(const std::string &path);
// Prints what the real compiler wrote to `errFile` on stderr.
void replay(const std::string &errFile);
