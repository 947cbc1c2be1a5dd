// The records of the safety analysis's program model: a function with its
// control-flow graph and effect events, and a struct type, as the manifests
// describe them once calls and items are resolved (Program::link).
#pragma once

#include <string>
#include <vector>

namespace dsu::safety {

struct Event {
  enum Kind { Call, ICall, Type, Global, Point } kind;
  int item = -1;                 // Type/Global: item index
  std::vector<int> targets;      // Call/ICall: the functions it may call
  std::string name;              // Point: "file:line"; Call: callee name; ICall: signature
  unsigned block = 0;
  unsigned line = 0;
  std::vector<int> during;       // Call/ICall: type items
};

struct Function {
  std::string tu, name, file;
  unsigned line = 0;
  bool external = false, updateable = false, cfg = true;
  std::string reason, reasonText;
  std::string transaction; // "", attribute, syscall, irq
  std::string signature;
  unsigned entry = 0;
  std::vector<std::vector<unsigned>> succ;
  std::vector<Event> events;
  int item = -1;           // its function item
  std::vector<int> callees; // resolved direct and indirect callees (function indices)
};

struct Type {
  std::string tu, name, file;
  unsigned line = 0;
  bool updateable = false;
  std::string reason, reasonText;
};

} // namespace dsu::safety
