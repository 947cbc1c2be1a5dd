// The safety analysis (docs/safety.md): from the per-object manifests' effect
// records, the whole-program call graph and, per update point, call site and
// transaction, the effects before and after it.
//
// Items are the things an update can change or a computation can touch:
//   function  "tu:name"      (a function with a manifest)
//   type      "tu:struct T"  (a struct the unit wraps)
//   global    "tu:v" / "v"   (a static, or an external variable by name)
// A function's effect E(f) is f itself, what its body touches, and E of
// everything it may call. Indirect calls may reach every function whose
// address is taken anywhere in the program with the same signature (the
// canonical function type), the rule kCFI enforces; calls of functions
// without a manifest (libc, assembly) have no effect on program items (they
// do not call back into the program except through such pointers).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace dsu::safety {

struct Event {
  enum Kind { Call, ICall, Type, Global, Point } kind;
  int item = -1;                 // Type/Global: item index
  std::vector<int> targets;      // Call/ICall: the functions it may call
  std::string name;              // Point: "file:line"; Call: callee name; ICall: signature
  unsigned block = 0;
  unsigned line = 0;
  std::vector<int> during;       // Call/ICall: type items
};

struct Function {
  std::string tu, name, file;
  unsigned line = 0;
  bool external = false, updateable = false, cfg = true;
  std::string reason, reasonText;
  std::string transaction; // "", attribute, syscall, irq
  std::string signature;
  unsigned entry = 0;
  std::vector<std::vector<unsigned>> succ;
  std::vector<Event> events;
  int item = -1;           // its function item
  std::vector<int> callees; // resolved direct and indirect callees (function indices)
};

struct Type {
  std::string tu, name, file;
  unsigned line = 0;
  bool updateable = false;
  std::string reason, reasonText;
};

class Program {
public:
  // Reads every `*.dsu.json` under `dirs` (recursively). Errors (unreadable
  // or malformed manifests) are appended to `errors` as "path: reason".
  void load(const std::vector<std::string> &dirs, std::vector<std::string> &errors);
  void addManifest(const nlohmann::json &m, const std::string &path, std::vector<std::string> &errors);
  // Resolves calls, indirect calls, types and globals; call after loading.
  void link();

  std::vector<Function> functions;
  std::vector<Type> types; // every struct listed (updateable or not)
  std::vector<std::string> items;          // item names
  std::vector<char> itemKind;              // 'f', 't', 'g'
  std::map<std::string, int> itemIndex;
  std::string mode = "user";               // kernel when any manifest is

private:
  int item(const std::string &name, char kind);
  struct Unit {
    std::string tu;
    std::set<std::string> wrappedTypes, statics;
    std::map<std::string, int> functions; // name -> index (defined here)
  };
  std::vector<Unit> units_;
  std::vector<std::vector<nlohmann::json>> rawEvents_; // per function, until link()
  std::vector<int> unitOf_;
  std::map<std::string, std::vector<int>> externals_;  // name -> external definitions
  std::map<std::string, std::set<int>> bySignature_;   // address-taken functions
  std::vector<std::pair<int, nlohmann::json>> addressTaken_; // (unit, entry)
  std::vector<std::pair<int, std::pair<std::string, std::string>>> fieldStores_; // (unit, (field, fn))
  std::set<std::string> openFields_;
  bool allFieldsOpen_ = false;
  std::vector<int> resolve(int unit, const std::string &name) const;
};

// A set of items over a chosen universe (all items, or a patch's change set).
using Bits = std::vector<uint64_t>;

class Analysis {
public:
  // `universe`: the items the sets range over (empty: all of them).
  Analysis(const Program &p, const std::set<int> &universe = {});

  // Effects of one site (event index `ev` of function `f`), within f,
  // callees' whole effects included.
  Bits future(int f, int ev) const; // after the event returns
  // Stoyle et al.'s restriction after the event: what the *old* code may
  // still do: its own concrete type uses, the types whose members' addresses
  // it passes, functions and globals it names, and the old code of
  // non-updateable callees (an updateable callee runs its new version).
  Bits oldFuture(int f, int ev) const;
  Bits oldEventBits(const Event &e) const; // one event, as oldFuture counts it
  Bits prior(int f, int ev) const;  // before it, f itself included
  Bits during(int f, int ev) const; // types whose members' addresses it passes
  // What may run after f returns, over every caller (Stoyle's restriction
  // for points inside f).
  const Bits &continuation(int f);
  // Prior/future of transaction function x around f (f reached from x):
  // what x may have done before f was called and may do after it returns.
  Bits txPrior(int x, int f);
  Bits txFuture(int x, int f);
  bool reaches(int from, int to) const; // call graph
  const Bits &effect(int f) const { return effect_[f]; }

  std::vector<std::string> names(const Bits &b, char kind) const;
  bool intersects(const Bits &a, const Bits &b) const;
  Bits empty() const { return Bits(words_, 0); }
  void add(Bits &b, int item) const;
  void merge(Bits &into, const Bits &from) const;
  Bits ofItems(const std::set<int> &items) const;

private:
  void computeEffects();
  Bits eventBits(int f, const Event &e) const;
  Bits after(int f, int ev, bool old) const;

  const Program &p_;
  std::vector<int> slot_; // item -> bit, or -1 outside the universe
  std::vector<int> itemOfSlot_;
  size_t words_ = 0;
  std::vector<Bits> effect_;
  std::vector<Bits> oldEffect_; // what calling f runs as old code: f non-updateable
  std::vector<std::vector<std::pair<int, int>>> callers_; // f -> (caller, event)
  std::map<int, Bits> cont_;
  // Per function: each event's bits (full, old) and, per block, what the
  // blocks after / before it do (a dataflow fixpoint over the CFG).
  struct Flow {
    std::vector<Bits> evFull, evOld, futFull, futOld, pri;
  };
  mutable std::map<int, Flow> flow_;
  const Flow &flow(int f) const;
  std::map<std::pair<int, int>, std::pair<Bits, Bits>> tx_;
  void computeTx(int x);
};

} // namespace dsu::safety

namespace dsu::safety {

// What a patch must not meet, computed from the running program's manifests
// and the patch's change set (functions it replaces, types it changes).
struct Unsafe {
  enum Kind { Point = 1, Frame = 2 } kind;
  std::string where;  // Point: "file:line"; Frame: function name
  std::string callee; // Frame: callee name at the call site, "*" (an indirect call) or "?" (anywhere)
  unsigned flags = 0; // Frame: kFrame* below
  std::string why;    // Point: the reason; Frame: a short one
};
inline constexpr unsigned kFrameType = 1;   // old code after the site uses a changed type concretely
inline constexpr unsigned kFramePrior = 2;  // the change set meets what ran before the site
inline constexpr unsigned kFrameFuture = 4; // the change set meets what may run after it
inline constexpr unsigned kFrameTxRoot = 8; // the function is a transaction

// `change`: item names ("tu:name", "tu:struct T"); unknown ones are ignored.
std::vector<Unsafe> unsafeSites(Program &p, const std::set<std::string> &change);

// The unsafe table as JSON (dsu-unsafe/1, docs/safety.md): what
// `dsu-analyze --change` prints.
nlohmann::json unsafeJson(const std::vector<Unsafe> &unsafe, const std::set<std::string> &change);

// restrictions.json (docs/safety.md).
nlohmann::json restrictionsJson(Program &p);

} // namespace dsu::safety
