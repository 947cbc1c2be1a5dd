// The text of the ABI header runtime/include/dsu/abi.h, embedded into every
// rewritten unit. (The C++ code takes the header's names and constants from
// "dsu/abi.h" itself.)
#pragma once

namespace dsu {

const char *abiHeaderText();

} // namespace dsu
