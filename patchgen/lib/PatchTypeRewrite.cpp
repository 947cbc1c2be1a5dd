// The patch rewrite of wrapped types: the running program's wrappers, and
// the transformer of each layout change.
#include "PatchRewriter.h"

#include "RewriteRecords.h"
#include "TypeWrapping.h"
#include "TypeWrapping.h"

extern "C" {
#include "dsu/abi.h"
}

using namespace clang;

namespace dsu {

// The patch code sees the running program's wrapped types as their wrappers
// (same size and layout as the instances), compiled for the version this
// patch brings; changed ones get the previous representation and the
// transformer between the two.
void PatchRewriter::wrapPatchTypes(RewrittenUnit &out) {
  std::map<std::string, const TypeUpdate *> updates;
  for (const TypeUpdate &u : plan_.typeUpdates)
    updates[u.name] = &u;
  std::map<std::string, PinnedWrap> wraps;
  for (const auto &[name, w] : base_.wrapped) {
    PinnedWrap p;
    auto up = updates.find(name);
    p.version = up != updates.end() ? up->second->to : w.version;
    p.unionSize = w.unionSize;
    p.descExpr = fmt::format("((struct __dsu_type_desc *)__dsu_refs_{}[{}])", plan_.index,
                             slot(DSU_REF_TYPE, base_.tu, name));
    if (up != updates.end())
      p.after = fmt::format(" {}; void __dsu_p{}_xform_{}(void *, const void *);",
                            up->second->oldDefinition, plan_.index, w.tag);
    wraps[w.tag] = p;
  }
  RewriteOptions ro;
  ro.kernel = opts_.kernel;
  ro.tuName = base_.tu; // the instances' tag is the running unit's
  std::vector<TypeRecord> records;
  bool any = false;
  wrapTypes(TypeWrapInput{ctx_, rw_, [this](SourceLocation l) { return edit(l); }, ro, &wraps,
                          [this](const Decl *d) { return dropped_.count(d) > 0; }},
            records, any);
  for (const TypeRecord &r : records) {
    if (!base_.wrapped.count(r.name) || r.updateable)
      continue;
    errors_.push_back(fmt::format("{}:{}:1: error: the running program wraps {}, but the patch "
                                  "code cannot: {}{}",
                                  r.file, r.line, r.name, reasonText(r.reason),
                                  r.detail.empty() ? "" : " (" + r.detail + ")"));
  }
  for (const TypeUpdate &u : plan_.typeUpdates) {
    std::string body = fmt::format(
        "void __dsu_p{0}_xform_{1}(void *__dsu_to, const void *__dsu_from) {{ struct "
        DSU_REP_PREFIX "{1}_{2} *to = __dsu_to; const struct " DSU_REP_PREFIX "{1}_{3} *from = __dsu_from;",
        plan_.index, u.tag, u.to, u.from);
    for (const TypeUpdate::Copy &c : u.copied)
      body += c.bitField ? fmt::format(" to->{0} = from->{0};", c.field)
                         : fmt::format(" __builtin_memcpy(&to->{0}, &from->{0}, sizeof(to->{0}));",
                                       c.field);
    for (const auto &[field, value] : u.added)
      if (!value.empty())
        body += fmt::format(" to->{} = ({});", field, value);
    if (u.userTransformer)
      body += fmt::format(" dsu_transform_{}(to, from);", u.tag);
    body += " (void)to; (void)from; }\n";
    tail_ += body;
    out.types.push_back({u.name, u.to, u.newSize, fmt::format("__dsu_p{}_xform_{}", plan_.index, u.tag)});
  }
}

} // namespace dsu
