// Fuzzes the cron expression parser of maintenance schedules (text from the configuration):
// parsing never crashes, and a parsed expression's next run is after the reference time.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "maintenance/schedule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cron = echomon::maintenance::CronExpression::Parse(text);
  if (cron.ok()) {
    const int64_t t = 1'795'755'600'000;
    int64_t next = cron->NextAfter(t);
    if (next != -1 && next <= t) std::abort();
  }
  return 0;
}
