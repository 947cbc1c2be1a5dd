#include "CompilerOutput.h"

namespace dsu {

std::string firstErrorLine(const std::string &text, std::string_view marker) {
  size_t pos = text.find(marker);
  if (pos == std::string::npos)
    return text.substr(0, text.find('\n'));
  size_t begin = text.rfind('\n', pos);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(begin, text.find('\n', pos) - begin);
}

} // namespace dsu
