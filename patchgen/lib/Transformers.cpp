// User-written type transformers and the stubs for those still to write.
#include "Transformers.h"

#include "Files.h"
#include "OutputDir.h"

#include <fmt/format.h>

#include <filesystem>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;

namespace dsu {

bool keepUserTransformers(const PatchgenOptions &o, OutputDir &output) {
  for (const std::string &t : o.transformers) {
    std::string path = absolutePath(t);
    if (!isUnder(path, o.outDir) || !fs::is_regular_file(path))
      continue;
    std::string copy = output.work() + path.substr(o.outDir.size());
    std::error_code ec;
    fs::create_directories(fs::path(copy).parent_path(), ec);
    fs::copy_file(path, copy, fs::copy_options::overwrite_existing, ec);
    output.keep(copy);
    if (ec) {
      fmt::print(stderr, "dsu-patchgen: error: cannot keep {}: {}\n", path, ec.message());
      return false;
    }
  }
  return true;
}

bool readTransformerFiles(const PatchgenOptions &o, std::vector<TransformerFile> &files) {
  for (const std::string &path : o.transformers) {
    TransformerFile tf;
    tf.path = absolutePath(path);
    auto text = readFile(tf.path);
    if (!text) {
      fmt::print(stderr, "dsu-patchgen: error: cannot read the transformers {}\n", path);
      return false;
    }
    tf.text = *text;
    std::istringstream lines(tf.text);
    std::string line;
    for (unsigned n = 1; std::getline(lines, line); ++n)
      if (line.find("DSU_TRANSFORMER_STUB") != std::string::npos) {
        fmt::print(stderr, "{}:{}:1: error: this is dsu-patchgen's stub: write the conversion "
                           "and delete the DSU_TRANSFORMER_STUB line\n", tf.path, n);
        return false;
      }
    static const std::regex fn(R"(\bdsu_transform_([A-Za-z_][A-Za-z0-9_]*)\s*\()");
    for (auto it = std::sregex_iterator(tf.text.begin(), tf.text.end(), fn);
         it != std::sregex_iterator(); ++it)
      tf.tags.insert((*it)[1].str());
    if (tf.tags.empty()) {
      fmt::print(stderr, "{}:1:1: error: no dsu_transform_<type>() function in it\n", tf.path);
      return false;
    }
    files.push_back(std::move(tf));
  }
  return true;
}

void finishTransformers(const std::vector<TransformerFile> &files,
                        const std::set<std::string> &tagsUsed, const std::string &stubText,
                        OutputDir &output) {
  for (const TransformerFile &tf : files)
    for (const std::string &tag : tf.tags)
      if (!tagsUsed.count(tag))
        fmt::print(stderr, "{}:1:1: warning: dsu_transform_{}() is for no type this patch "
                           "changes in a unit it patches; ignored\n", tf.path, tag);
  if (stubText.empty())
    return;
  // Not over the user's own transformers kept in OUT/transformers.c.
  std::string stubs = output.work() + "/transformers.c";
  if (fs::exists(stubs))
    stubs = output.work() + "/transformers.stubs.c";
  writeFile(stubs,
            "/* Type transformers dsu-patchgen cannot write itself: fill them in and pass\n"
            " * this file with --transformers. */\n\n" + stubText);
  fmt::print(stderr, "dsu-patchgen: note: transformer stubs written to {}\n", output.shown(stubs));
  output.keep(stubs);
}

} // namespace dsu
