// Effects: what a function body does, in control-flow order, for the safety
// analysis (analysis/). Recorded per function in the manifest
// (docs/manifest.md, "effects"); the analysis turns them into the prior and
// future effects of every call site and update point.
//
// An event is one of
//   call    a direct call of a named function (`during`: the wrapped-type
//           candidates whose members' addresses are passed as arguments, so
//           the callee works on that representation while it runs);
//   icall   a call through a function pointer (name: the callee's signature
//           hash; the analysis resolves it to every address-taken function
//           with that signature);
//   type    a concrete use of a struct defined in the unit's .c source
//           (member access, initializer, offsetof);
//   global  a reference to a static-storage variable ("v", or "f.v" for a
//           static local, as in the manifest's variables);
//   point   an update point (a call of dsu_update_point), name "file:line".
// Events sit in the blocks of clang's CFG of the body, in evaluation order;
// `succ` gives each block's successors. When the CFG cannot be built, every
// event is in one block that is its own successor (everything is both before
// and after everything: conservative).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace clang {
class ASTContext;
class FunctionDecl;
class QualType;
} // namespace clang

namespace dsu {

struct EffectEvent {
  std::string kind; // call | icall | type | global | point
  std::string name;
  unsigned block = 0;
  unsigned line = 0;                // presumed line of the event
  std::vector<std::string> during;  // call/icall: types whose members' addresses are arguments
};

struct FunctionEffects {
  bool cfg = true;                        // false: the CFG could not be built
  unsigned entry = 0, exit = 0;           // entry and exit block ids
  std::vector<std::vector<unsigned>> succ; // per block id
  std::vector<EffectEvent> events;
  // "attribute" (DSU_TRANSACTION), "syscall", "irq" (kernel defaults), or "".
  std::string transaction;
  std::string signature; // hash of the canonical function type (icall matching)
};

// The signature hash an indirect call through `fnType` (a function type)
// is matched with.
std::string signatureHash(clang::QualType fnType);

FunctionEffects functionEffects(clang::ASTContext &ctx, const clang::FunctionDecl *fd,
                                bool kernel);

// Functions of the unit whose address is taken anywhere in it (initializers
// of ops tables included): (name, signature hash). Internal-linkage ones are
// marked so the analysis can qualify them with the unit.
struct AddressTaken {
  std::string name;
  std::string signature;
  bool external = false;
};
// Function-pointer fields ("struct S::f"): which functions the unit stores
// into them by name, and which get anything else (open: an indirect call
// through them may reach any function of the right type).
struct FieldStores {
  std::vector<std::pair<std::string, std::string>> stores; // (field, function)
  std::vector<std::string> open;
};
std::vector<AddressTaken> addressTakenFunctions(clang::ASTContext &ctx, FieldStores &fields);

} // namespace dsu
