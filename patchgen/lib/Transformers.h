// User-written type transformers (--transformers FILE): which types each
// file has dsu_transform_<tag>() for, and the stubs written for those the
// user must still write.
#pragma once

#include "Options.h"

#include <set>
#include <string>
#include <vector>

namespace dsu {

class OutputDir;

struct TransformerFile {
  std::string path, text;
  std::set<std::string> tags; // dsu_transform_<tag>() defined in it
};

// User transformers kept in OUT (the stubs' file, filled in) stay there: a
// copy in the run's directory. False (after an error) if one cannot be kept.
bool keepUserTransformers(const PatchgenOptions &o, OutputDir &output);

// The --transformers files; a stub left as it was is refused. False after
// an error.
bool readTransformerFiles(const PatchgenOptions &o, std::vector<TransformerFile> &files);

// Warns about transformers for no type the patch changes, and writes the
// stubs the units' plans ask for (OUT/transformers.c, kept).
void finishTransformers(const std::vector<TransformerFile> &files,
                        const std::set<std::string> &tagsUsed, const std::string &stubs,
                        OutputDir &output);

} // namespace dsu
