#include "AbiHeader.h"

namespace dsu {

const char *abiHeaderText() {
  static const char text[] =
#include "AbiHeaderText.inc"
      ;
  return text;
}

} // namespace dsu
