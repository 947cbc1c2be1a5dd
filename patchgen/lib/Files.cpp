// Files as dsu-patchgen reads, writes, compares and names them.
#include "Files.h"

#include <llvm/Support/MemoryBuffer.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace dsu {

std::optional<std::string> readFile(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return std::nullopt;
  return (*buf)->getBuffer().str();
}

bool writeFile(const std::string &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return bool(out);
}

bool sameFile(const std::string &a, const std::string &b) {
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0)
    return false;
  if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
    return true;
  if (sa.st_size != sb.st_size)
    return false;
  return readFile(a) == readFile(b);
}

std::string absolutePath(const std::string &p) {
  std::error_code ec;
  fs::path a = fs::weakly_canonical(fs::absolute(p), ec);
  std::string out = ec ? fs::absolute(p).lexically_normal().string() : a.string();
  while (out.size() > 1 && out.back() == '/')
    out.pop_back();
  return out;
}

bool isUnder(const std::string &path, const std::string &root) {
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
         path[root.size()] == '/';
}

} // namespace dsu
