#include "FailingFunctions.h"

#include <fmt/format.h>

#include <regex>
#include <set>

bool excludeFailingFunctions(const std::string &stderrText, const dsu::RewriteResult &r,
                             std::map<std::string, std::string> &exclude) {
  static const std::regex errorLine(R"((?:^|\n)([^:\n]+):(\d+):\d+: error: ([^\n]*))");
  std::set<std::string> updateable;
  for (const dsu::FunctionRecord &f : r.functions)
    if (f.updateable)
      updateable.insert(f.name);
  bool added = false;
  for (auto it = std::sregex_iterator(stderrText.begin(), stderrText.end(), errorLine);
       it != std::sregex_iterator(); ++it) {
    const std::string file = (*it)[1], message = (*it)[3];
    const unsigned line = std::stoul((*it)[2]);
    for (const dsu::FunctionRecord &f : r.functions) {
      if (!f.updateable || f.file != file || line < f.line || line > f.endLine)
        continue;
      std::string why = fmt::format("its rewritten body does not compile: {}", message);
      added |= exclude.emplace(f.name, why).second;
      for (const std::string &callee : f.calls)
        if (updateable.count(callee))
          added |= exclude.emplace(callee, fmt::format("called by {}(), whose rewritten body does "
                                                       "not compile", f.name)).second;
    }
  }
  return added;
}
