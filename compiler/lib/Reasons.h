// Why a function or type is not updateable. Each reason has a stable id (used
// in manifests, dsu-check and tests) and a human-readable explanation.
#pragma once
#include <string>
#include <string_view>

namespace dsu {

enum class Reason {
  None,               // updateable
  Variadic,           // a stub cannot forward a variable argument list
  InitSection,        // __init: freed after boot; tables pointing at it trip modpost
  ExitSection,        // __exit: discarded or freed
  Noinstr,            // noinstr: no indirect calls/instrumentation allowed there
  ExplicitSection,    // any other __section(...): placement is part of its meaning
  Naked,              // no prologue: the body cannot be moved behind a stub
  AlwaysInline,       // always_inline: never exists out of line
  HeaderFunction,     // defined in a header: a copy in every including unit
  ExternInline,       // gnu/C99 extern inline: no out-of-line definition here
  Alias,              // an alias of another symbol
  AliasTarget,        // the target of an alias: the alias would bypass the stub
  Weak,               // weak definition: may be overridden at link time
  Constructor,        // constructor/destructor: the stub would run it twice
  AsmLabel,           // asm("name"): symbol name differs from the C name
  KnrDefinition,      // K&R-style definition: no prototype to forward with
  UnnamedParameter,   // a parameter without a name cannot be forwarded
  Multiversion,       // ifunc / target / target_clones multiversioning
  NeverIndirectable,  // built-in: vdso, boot, real-mode, EFI stub, purgatory, early startup
  PolicyFile,         // DSU_CONFIG (or the built-in policy) leaves the file out
  PolicyFunction,     // DSU_CONFIG leaves the function out
  Inline,             // declared inline: callers may rely on it being inlined
  ConstantBody,       // empty or constant body: callers rely on it folding away
  NoReturn,           // kernel: never returns; objtool must see its calls direct
  NoCfCheck,          // nocf_check (__noendbr): must never be called indirectly
  NeedsInlining,      // a compile-time assertion (BUILD_BUG) folds away only when inlined
  Uneditable,         // the definition's name is not in editable source text
  RewriteFailed,      // rewriting the unit failed; compiled unmodified
  TypeWrappingUnsupported, // types: wrapping is not implemented yet
  // Types (wrapping):
  TypeNotSelected,    // the policy leaves it out (exclude type)
  TypeUnion,          // unions are not wrapped
  TypeAnonymous,      // no tag to keep for the wrapper
  TypeDeclarators,    // defined inside a declaration of objects or a typedef
  TypeLayoutAttribute,// packed / aligned: the layout is part of its meaning
  TypeFlexibleArray,  // a flexible array member would move with the layout
  TypeBraceElision,   // initialized with elided braces
  TypeConstInstance,  // a const instance lives in read-only memory: cannot be transformed
  TypeUninstrumentableUse, // used in code that must not call the runtime (noinstr, naked, ...)
  TypeUneditable,     // a use is not in editable text
  TypeUserVisible,    // reached through __user pointers: its layout is user-space ABI
  TypeHardwareLayout, // reached through __iomem pointers: a device's register layout
  TypeOverlay,        // an explicit cast lays it over raw memory (firmware, hardware, a buffer)
  TypeFirstMemberAlias, // its address escapes untyped and its first member is a struct others may take it for
  TypePercpuInstance, // a per-CPU instance: reached with segment-relative accesses
  TypeSectionInstance, // an instance in a linker table another unit walks
  TypeRewriteFailed,  // the unit does not compile with its types wrapped
};

std::string_view reasonId(Reason r);
std::string_view reasonText(Reason r);

} // namespace dsu
