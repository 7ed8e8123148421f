// The list of extensions the agent runs (see extension.h). Each component adds one line here.
#include "monitor/extension.h"

namespace echomon::monitor {

std::vector<std::unique_ptr<Extension>> MakeExtensions(const core::Config& /*config*/) {
  std::vector<std::unique_ptr<Extension>> out;
  return out;
}

}  // namespace echomon::monitor
