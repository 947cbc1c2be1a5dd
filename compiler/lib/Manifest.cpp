#include "Manifest.h"

#include "dsu/abi.h"


#include <fmt/format.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Signals.h>
#include <llvm/Support/raw_ostream.h>

namespace dsu {

nlohmann::json manifestJson(const ManifestInfo &info, const RewriteResult &r) {
  using nlohmann::json;
  json funcs = json::array();
  unsigned updateable = 0;
  for (const FunctionRecord &f : r.functions) {
    json j = {{"name", f.name},
              {"file", f.file},
              {"line", f.line},
              {"end_line", f.endLine},
              {"linkage", f.external ? "external" : "internal"},
              {"updateable", f.updateable}};
    if (f.updateable) {
      ++updateable;
      j["symbols"] = {{"stub", f.name},
                      {"body", DSU_BODY_PREFIX + f.name},
                      {"pointer", DSU_PTR_PREFIX + f.name},
                      {"descriptor", DSU_DESC_PREFIX + f.name}};
    } else {
      j["reason"] = std::string(reasonId(f.reason));
      j["reason_text"] = f.detail.empty() ? std::string(reasonText(f.reason))
                                          : fmt::format("{} ({})", reasonText(f.reason), f.detail);
    }
    if (!f.bodyHash.empty())
      j["body_hash"] = f.bodyHash;
    if (!f.protoHash.empty())
      j["proto_hash"] = f.protoHash;
    j["calls"] = f.calls;
    j["calls_through_pointer"] = f.callsRewritten;
    const FunctionEffects &fx = f.effects;
    json events = json::array();
    for (const EffectEvent &e : fx.events) {
      json ev = {e.kind, e.name, e.block, e.line};
      if (!e.during.empty())
        ev.push_back(e.during);
      events.push_back(std::move(ev));
    }
    // With fewer than two events nothing is before or after anything
    // inside the function: the blocks are left out (kernel manifests list
    // a thousand header functions per unit).
    if (fx.events.size() < 2)
      j["effects"] = {{"signature", fx.signature}, {"events", std::move(events)}};
    else
      j["effects"] = {{"cfg", fx.cfg},       {"entry", fx.entry}, {"exit", fx.exit},
                      {"succ", fx.succ},     {"events", std::move(events)},
                      {"signature", fx.signature}};
    if (!fx.transaction.empty())
      j["transaction"] = fx.transaction;
    funcs.push_back(std::move(j));
  }
  json types = json::array();
  for (const TypeRecord &t : r.types) {
    json j = {{"name", t.name}, {"file", t.file}, {"line", t.line}, {"updateable", t.updateable}};
    if (t.updateable) {
      j["symbols"] = {{"representation", DSU_REP_PREFIX + t.tag + "_0"},
                      {"accessor", DSU_CON_PREFIX + t.tag},
                      {"descriptor", DSU_TDESC_PREFIX + t.tag}};
      j["representation_size"] = t.repSize;
      j["slop"] = t.slop;
      j["union_size"] = t.unionSize;
      j["union_align"] = t.unionAlign;
      j["uses_rewritten"] = t.uses;
    } else {
      j["reason"] = std::string(reasonId(t.reason));
      j["reason_text"] = t.detail.empty() ? std::string(reasonText(t.reason))
                                          : fmt::format("{} ({})", reasonText(t.reason), t.detail);
    }
    types.push_back(std::move(j));
  }
  json vars = json::array();
  for (const VariableRecord &v : r.variables) {
    json j = {{"name", v.name},     {"file", v.file},   {"line", v.line},
              {"const", v.isConst}, {"type", v.type},   {"registered", v.registered}};
    if (!v.function.empty())
      j["function"] = v.function;
    if (v.registered)
      j["descriptor"] = true;
    else
      j["reason_text"] = v.why;
    vars.push_back(std::move(j));
  }
  json m = {{"schema", kManifestSchema},
            {"source", info.source},
            {"object", info.object},
            {"cwd", info.cwd},
            {"mode", info.kernel ? "kernel" : "user"},
            {"status", info.status},
            {"functions", std::move(funcs)},
            {"types", std::move(types)},
            {"variables", std::move(vars)},
            {"summary",
             {{"functions", r.functions.size()},
              {"updateable", updateable},
              {"calls_through_pointer", r.callsRewritten}}}};
  json taken = json::array();
  for (const AddressTaken &a : r.addressTaken)
    taken.push_back({a.name, a.signature, a.external ? "external" : "internal"});
  m["address_taken"] = std::move(taken);
  json stores = json::array();
  for (const auto &[field, fn] : r.fieldStores.stores)
    stores.push_back({field, fn});
  m["field_stores"] = std::move(stores);
  m["open_fields"] = r.fieldStores.open;
  if (!info.statusDetail.empty())
    m["status_detail"] = info.statusDetail;
  if (!info.unitHash.empty())
    m["unit_hash"] = info.unitHash;
  if (!info.tu.empty())
    m["tu"] = info.tu;
  if (!info.arguments.empty()) {
    m["compiler"] = info.compiler;
    m["arguments"] = info.arguments;
  }
  return m;
}

bool writeJsonFile(const std::string &path, const nlohmann::json &j, std::string &error) {
  // A temporary of a name nobody can guess, created exclusively beside
  // `path` and renamed over it: a fixed temporary name (or `path` itself),
  // opened for writing in a directory others can write to, could be a
  // symlink they planted, and the write would land in its target.
  llvm::SmallString<256> tmp;
  int fd = -1;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%%%", fd, tmp)) {
    error = fmt::format("{}: cannot write manifest: {}", path, ec.message());
    return false;
  }
  llvm::sys::RemoveFileOnSignal(tmp);
  auto discard = [&] {
    llvm::sys::fs::remove(tmp);
    llvm::sys::DontRemoveFileOnSignal(tmp);
  };
  {
    llvm::raw_fd_ostream out(fd, /*shouldClose=*/true);
    out << j.dump(1) << '\n';
    out.close();
    if (out.has_error()) {
      error = fmt::format("{}: cannot write manifest: {}", path, out.error().message());
      out.clear_error();
      discard();
      return false;
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    error = fmt::format("{}: cannot rename manifest into place: {}", path, ec.message());
    discard();
    return false;
  }
  llvm::sys::DontRemoveFileOnSignal(tmp);
  return true;
}

} // namespace dsu
