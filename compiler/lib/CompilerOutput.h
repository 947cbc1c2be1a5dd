// Reading a compiler's diagnostics (its stderr, or a buffered parse's).
#pragma once
#include <string>
#include <string_view>

namespace dsu {

// The line of `text` that holds the first `marker` (the first error); the
// first line when none does.
std::string firstErrorLine(const std::string &text, std::string_view marker = "error:");

} // namespace dsu
