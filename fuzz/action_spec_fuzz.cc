// Fuzzes action validation with arbitrary JSON specs {"type": ..., "params": ...} (from
// configuration files and API bodies): ValidateAction never crashes or throws. Nothing is run.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "respond/action.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return 0;
  echomon::respond::ActionSpec spec;
  if (j.contains("type") && j["type"].is_string()) spec.type = j["type"].get<std::string>();
  if (j.contains("params")) spec.params = j["params"];
  echomon::respond::ActionLimits limits;
  limits.writable_dirs = {"/tmp/echomon-fuzz"};
  limits.http_allow = {"http://127.0.0.1:8000/admin/"};
  limits.services["engine"] = {{"/bin/true"}, "", 1000};
  (void)echomon::respond::ValidateAction(spec, limits);
  return 0;
}
