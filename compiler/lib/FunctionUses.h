// How a unit uses each function it names: called directly, or referenced
// otherwise, so that its address escapes (an ops table's `.ioctl = f`, a
// callback argument, `&f`). dsu-cc's needs_inlining and constant_body rules
// and dsu-patchgen's inline-like changes ask the same question: an escaping
// function is emitted out of line, with arguments nothing folds, in the
// plain build too.
#pragma once

#include <clang/AST/ASTContext.h>

#include <map>

namespace dsu {

struct FunctionUse {
  unsigned calls = 0;   // as a call's callee (through parentheses and casts:
                        // BPF_CALL's `((btf_f)____f)(...)` is a call)
  unsigned escapes = 0; // any other evaluated reference
};

// By canonical declaration. References in unevaluated operands (sizeof,
// alignof, typeof) are no use.
std::map<const clang::FunctionDecl *, FunctionUse> functionUses(clang::ASTContext &ctx);

} // namespace dsu
