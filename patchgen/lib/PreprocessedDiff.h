// Whether a unit only a changed header reaches can compile to different
// code, from the two preprocessed texts (-P) of it alone, without a parse.
//
// A widely included header rarely changes what most of its includers
// compile: 6.12.118 adds prototypes, static inline functions and includes
// to mm.h, panic.h, srcu.h, and changes one inline of tlb.h. Every includer's
// preprocessed text differs, but only units whose emitted code names a
// changed definition, directly or through other definitions, compile
// differently. The texts are cut into top-level declarations; declarations
// only one side has (changed, added or removed) name the changed
// identifiers; every declaration that mentions one changes what it defines
// too; the unit may compile differently when a declaration that emits code
// or data (a function definition that is not inline, a variable, top-level
// asm) changed or mentions a changed identifier.
//
// Conservative by construction: an identifier is any token that looks like
// one (a local variable named like a changed function counts), and
// a declaration whose name cannot be told names all its identifiers.
#pragma once

#include <string>
#include <string_view>

namespace dsu {

struct PreprocessedComparison {
  bool mayDiffer = true;
  std::string why; // when it may: which declaration, and which change it names
};

PreprocessedComparison comparePreprocessed(std::string_view oldText, std::string_view newText);

// Names pasted from __COUNTER__ lose their number: code added above a
// function shifts every counter after it, and the function must not look
// changed for that. The kernel's: __UNIQUE_ID(prefix) (__UNIQUE_ID_prefix123,
// behind min(), max(), rcu_dereference(), __ADDRESSABLE() ...) and
// compiletime_assert() (__compiletime_assert_123, behind READ_ONCE(),
// BUILD_BUG_ON() ...), and initcalls' __initcall__kmod_<module>__123_...
// Each number becomes `#`.
std::string maskUniqueIds(std::string text);

} // namespace dsu
