// Parsing the original source in process, with the compile's own flags:
// diagnostics are buffered (printed by the caller only if the parse
// succeeds, so a broken source reports through the real compiler as usual),
// the token stream is printed as the preprocessed unit (or, when tokens do
// not carry all of it, recorded and aligned with the real compiler's -E
// text), and the unit rewritten.
#pragma once
#include "Argv.h"
#include "RewriteRecords.h"

#include <functional>
#include <string>

// The real compiler's -E of the unit, for units the parse cannot print.
struct Preprocess {
  std::function<bool(std::string &text, std::string &error)> run;
  // Set when every unit takes -E: the real compiler is not the clang the
  // parse is (DSU_REAL_CC names another one, or adds options), so only its
  // own preprocessing says what it compiles.
  std::string alwaysWhy;
};

// The preprocessed unit that was rewritten: its text, its hash (the base
// identity in the manifest) and how it was made.
struct Unit {
  std::string text;
  std::string hash;
  std::string alignedWhy; // empty: printed from the parse; else why -E was needed
};

enum class ParseOutcome { Rewritten, SourceErrors, Failed };

// Parses and rewrites the unit; the parse writes the dependency file when
// `writeDeps` (it reads exactly the headers the compile would).
ParseOutcome rewriteUnit(const dsu::CompileJob &job, bool writeDeps, const Preprocess &preprocess,
                         const dsu::RewriteOptions &opts, Unit &unit, dsu::RewriteResult &result,
                         std::string &diagnostics, std::string &error);
