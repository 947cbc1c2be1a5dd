// dsu-analyze: the con_T / transaction analysis over a build's manifests.
//   dsu-analyze [-o restrictions.json] DIR...
//   dsu-analyze --change ITEM[,ITEM...] [-o unsafe.json] DIR...
// Reads every <object>.dsu.json under the directories and writes the
// restriction sets (docs/safety.md) to the file (default: stdout). With
// --change, writes instead what dsu-patchgen would put into a patch with
// that change set ("tu:function", "tu:struct T"): the update points where it
// must not be applied and the kernel frame rules (dsu-unsafe/1).
#include "Safety.h"

#include <cstring>
#include <sstream>
#include <fmt/format.h>
#include <fstream>
#include <iostream>

int main(int argc, char **argv) {
  std::string out;
  std::vector<std::string> dirs;
  std::set<std::string> change;
  bool unsafeMode = false;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "-o") && i + 1 < argc)
      out = argv[++i];
    else if (!strcmp(argv[i], "--change") && i + 1 < argc) {
      unsafeMode = true;
      std::stringstream list(argv[++i]);
      for (std::string item; std::getline(list, item, ',');)
        if (!item.empty())
          change.insert(item);
    }
    else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fmt::print("usage: dsu-analyze [-o restrictions.json] DIR...\n"
                 "       dsu-analyze --change ITEM[,ITEM...] [-o unsafe.json] DIR...\n");
      return 0;
    } else if (argv[i][0] == '-') {
      fmt::print(stderr, "dsu-analyze: error: unknown option '{}'\n", argv[i]);
      return 2;
    } else
      dirs.push_back(argv[i]);
  }
  if (dirs.empty()) {
    fmt::print(stderr, "usage: dsu-analyze [-o restrictions.json] DIR...\n");
    return 2;
  }
  dsu::safety::Program p;
  std::vector<std::string> errors;
  p.load(dirs, errors);
  for (const std::string &e : errors)
    fmt::print(stderr, "{}: error: cannot use manifest\n", e);
  if (!errors.empty())
    return 1;
  if (p.functions.empty()) {
    fmt::print(stderr, "dsu-analyze: error: no manifests (*.dsu.json) under the given directories\n");
    return 1;
  }
  p.link();
  nlohmann::json j;
  if (unsafeMode) {
    bool bad = false;
    for (const std::string &item : change)
      if (!p.itemIndex.count(item)) {
        fmt::print(stderr,
                   "dsu-analyze: error: '{}' is no function, wrapped type or global of the "
                   "manifests (items are \"tu:name\" or \"tu:struct T\")\n",
                   item);
        bad = true;
      }
    if (bad || change.empty()) {
      if (change.empty())
        fmt::print(stderr, "dsu-analyze: error: --change needs at least one item\n");
      return 1;
    }
    j = dsu::safety::unsafeJson(dsu::safety::unsafeSites(p, change), change);
  } else {
    j = dsu::safety::restrictionsJson(p);
  }
  if (out.empty()) {
    std::cout << j.dump(1) << '\n';
    return 0;
  }
  std::ofstream f(out);
  f << j.dump(1) << '\n';
  if (!f) {
    fmt::print(stderr, "dsu-analyze: error: cannot write {}\n", out);
    return 1;
  }
  return 0;
}
