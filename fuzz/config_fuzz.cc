// Fuzz target for the configuration loader: any bytes must give a result (errors or a config),
// never a crash, a hang or an exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  echomon::core::ConfigLoadResult result =
      echomon::core::LoadConfigString(text, "fuzz.yaml", "/nonexistent/base");
  // Touch what a caller would use, so the sanitizers see every string the loader built.
  size_t total = result.config.storage.data_dir.size() + result.warnings.size();
  for (const auto& error : result.errors) total += error.ToString().size();
  if (result.ok() && result.config.interval_ms <= 0) __builtin_trap();  // validated, so never
  return total == SIZE_MAX ? 1 : 0;
}
