// Files as dsu-patchgen reads, writes, compares and names them.
#pragma once

#include <optional>
#include <string>

namespace dsu {

std::optional<std::string> readFile(const std::string &path);
bool writeFile(const std::string &path, const std::string &text);

// Whether two files have the same contents (hard links: the same inode).
bool sameFile(const std::string &a, const std::string &b);

// `p` absolute and normalized, without a trailing '/' (`-o out/`: OUT's name
// is "out").
std::string absolutePath(const std::string &p);

// Whether `path` is strictly inside the directory `root`.
bool isUnder(const std::string &path, const std::string &root);

} // namespace dsu
