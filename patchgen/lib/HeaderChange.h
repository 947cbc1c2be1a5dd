// The one header change a patch can carry: fields added to shadowed structs.
#pragma once

#include <set>
#include <string>

namespace dsu {

// Whether a header's change only adds fields to shadowed structs (the only
// header change a patch can carry: the running code's layout is untouched).
// Empty when it does; otherwise why not, as "LINE: reason".
std::string shadowOnlyHeaderChange(const std::string &oldText, const std::string &newText,
                                   const std::set<std::string> &shadowed);

} // namespace dsu
