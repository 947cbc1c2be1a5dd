// Which lines of a source file a change touches, and whether this build
// compiles them: when a fix changes no function of the running program,
// dsu-patchgen says why (the lines are compiled out under an #if, or they
// are comments or declarations) instead of calling it an error.
#pragma once

#include <set>
#include <string>

namespace dsu {

// The lines (1-based, in NEW) a change from OLD to NEW inserts or modifies;
// a deletion counts as the NEW line that follows it.
std::set<unsigned> changedLines(const std::string &oldText, const std::string &newText);

// The innermost conditional directive around `line` of `text` (the #if,
// #ifdef, #ifndef, #elif or #else whose block holds it), as
// "`#ifdef CONFIG_FOO` at line N"; "" when there is none.
std::string enclosingConditional(const std::string &text, unsigned line);

// The lines of `text` that hold code once comments are dropped (directives
// included), as the raw lexer sees them.
std::set<unsigned> codeLines(const std::string &text);

// The lines of `text` that are preprocessor directives (start with '#').
std::set<unsigned> directiveLines(const std::string &text);

} // namespace dsu
