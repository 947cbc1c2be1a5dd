#include "Reasons.h"

namespace dsu {

std::string_view reasonId(Reason r) {
  switch (r) {
  case Reason::None: return "";
  case Reason::Variadic: return "variadic";
  case Reason::InitSection: return "init";
  case Reason::ExitSection: return "exit";
  case Reason::Noinstr: return "noinstr";
  case Reason::ExplicitSection: return "section";
  case Reason::Naked: return "naked";
  case Reason::AlwaysInline: return "always_inline";
  case Reason::HeaderFunction: return "header";
  case Reason::ExternInline: return "extern_inline";
  case Reason::Alias: return "alias";
  case Reason::AliasTarget: return "alias_target";
  case Reason::Weak: return "weak";
  case Reason::Constructor: return "constructor";
  case Reason::AsmLabel: return "asm_label";
  case Reason::KnrDefinition: return "knr";
  case Reason::UnnamedParameter: return "unnamed_parameter";
  case Reason::Multiversion: return "multiversion";
  case Reason::NeverIndirectable: return "never_indirectable";
  case Reason::PolicyFile: return "policy_file";
  case Reason::PolicyFunction: return "policy_function";
  case Reason::Inline: return "inline";
  case Reason::ConstantBody: return "constant_body";
  case Reason::NoReturn: return "noreturn";
  case Reason::NoCfCheck: return "nocf_check";
  case Reason::NeedsInlining: return "needs_inlining";
  case Reason::Uneditable: return "uneditable";
  case Reason::RewriteFailed: return "rewrite_failed";
  case Reason::TypeWrappingUnsupported: return "type_wrapping_unsupported";
  case Reason::TypeNotSelected: return "type_not_selected";
  case Reason::TypeUnion: return "union";
  case Reason::TypeAnonymous: return "anonymous";
  case Reason::TypeDeclarators: return "defined_in_declaration";
  case Reason::TypeLayoutAttribute: return "layout_attribute";
  case Reason::TypeFlexibleArray: return "flexible_array";
  case Reason::TypeBraceElision: return "brace_elision";
  case Reason::TypeConstInstance: return "const_instance";
  case Reason::TypeUninstrumentableUse: return "uninstrumentable_use";
  case Reason::TypeUneditable: return "uneditable_use";
  case Reason::TypeUserVisible: return "user_visible";
  case Reason::TypeHardwareLayout: return "hardware_layout";
  case Reason::TypeOverlay: return "overlay";
  case Reason::TypeFirstMemberAlias: return "first_member_alias";
  case Reason::TypePercpuInstance: return "percpu_instance";
  case Reason::TypeSectionInstance: return "section_instance";
  case Reason::TypeRewriteFailed: return "type_rewrite_failed";
  }
  return "unknown";
}

std::string_view reasonText(Reason r) {
  switch (r) {
  case Reason::None: return "";
  case Reason::Variadic: return "variadic: a stub cannot forward a variable argument list";
  case Reason::InitSection: return "__init: lives in .init.text, freed after boot";
  case Reason::ExitSection: return "__exit: lives in .exit.text, discarded or freed";
  case Reason::Noinstr: return "noinstr: no instrumentation or indirect calls allowed";
  case Reason::ExplicitSection: return "explicit section: its placement is part of its meaning";
  case Reason::Naked: return "naked: no prologue, the body cannot move behind a stub";
  case Reason::AlwaysInline: return "always_inline: never exists out of line";
  case Reason::HeaderFunction: return "defined in a header: every including unit has its own copy";
  case Reason::ExternInline: return "extern inline: no out-of-line definition in this unit";
  case Reason::Alias: return "alias of another symbol";
  case Reason::AliasTarget: return "target of an alias, which would bypass the stub";
  case Reason::Weak: return "weak definition: may be replaced at link time";
  case Reason::Constructor: return "constructor/destructor: a stub would run it twice";
  case Reason::AsmLabel: return "asm label: the symbol name differs from the C name";
  case Reason::KnrDefinition: return "K&R-style definition: no prototype to forward with";
  case Reason::UnnamedParameter: return "unnamed parameter: cannot be forwarded by the stub";
  case Reason::Multiversion: return "multiversioned (ifunc/target/target_clones)";
  case Reason::NeverIndirectable: return "code that can never be indirected";
  case Reason::PolicyFile: return "file left out by policy";
  case Reason::PolicyFunction: return "function left out by policy";
  case Reason::Inline: return "declared inline: callers may rely on inlining to fold code away (changes reach it through new versions of its callers)";
  case Reason::ConstantBody: return "empty or constant body: callers rely on it folding away (config stubs)";
  case Reason::NoReturn: return "noreturn (kernel): a task inside it never leaves it, so a stack-checked update could never replace it, and objtool must see calls to it";
  case Reason::NoCfCheck: return "nocf_check (__noendbr): must never be the target of an indirect call";
  case Reason::NeedsInlining: return "compiles only when inlined or unused (a BUILD_BUG-style compile-time assertion folds away)";
  case Reason::Uneditable: return "definition is not editable source text (macro-generated name)";
  case Reason::RewriteFailed: return "rewriting the translation unit failed; compiled unmodified";
  case Reason::TypeWrappingUnsupported: return "type wrapping is not implemented yet";
  case Reason::TypeNotSelected: return "left out by the policy (`exclude type NAME` in DSU_CONFIG)";
  case Reason::TypeUnion: return "a union: not wrapped";
  case Reason::TypeAnonymous: return "anonymous: no tag for the wrapper to keep";
  case Reason::TypeDeclarators: return "defined inside a declaration of objects or a typedef";
  case Reason::TypeLayoutAttribute: return "packed or explicitly aligned: its layout is part of its meaning";
  case Reason::TypeFlexibleArray: return "flexible array member: would move with the layout";
  case Reason::TypeBraceElision: return "an instance is initialized with elided braces";
  case Reason::TypeConstInstance: return "a const instance lives in read-only memory and could not be transformed";
  case Reason::TypeUninstrumentableUse: return "used in code that must not call the runtime (noinstr, naked)";
  case Reason::TypeUneditable: return "a use is not in editable text";
  case Reason::TypeUserVisible: return "reached through __user pointers: its layout is the user-space ABI";
  case Reason::TypeHardwareLayout: return "reached through __iomem pointers: its layout is a device's registers";
  case Reason::TypeFirstMemberAlias: return "its address escapes as another pointer type and its first member is a struct: other code may take the object for its first member, which wrapping moves";
  case Reason::TypeOverlay: return "an explicit cast lays it over raw memory (a firmware or hardware record, a byte buffer): that memory has no version field";
  case Reason::TypeSectionInstance: return "an instance lives in a linker table (a special section) that other code walks with the plain layout";
  case Reason::TypePercpuInstance: return "a per-CPU instance is reached with segment-relative accesses the accessor cannot see";
  case Reason::TypeRewriteFailed: return "the unit does not compile with its types wrapped";
  }
  return "unknown";
}

} // namespace dsu
