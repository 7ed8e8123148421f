// Fuzzes the NAB CSV parser (analyze/replay.h) and runs the parsed rows through the anomaly
// detector: any input must give either rows or an error naming a line, scores in [0,1], and
// never a crash. The config parser gets the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "analyze/anomaly_detector.h"
#include "analyze/replay.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace ea = echomon::analyze;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ea::AnomalyDetector detector{ea::AnomalyConfig{}};
  const echomon::Status s = ea::ParseNabCsv(text, [&](const ea::NabCsvRow& row) {
    const double score = detector.Update(row.t_ms, row.value);
    if (!(score >= 0.0 && score <= 1.0)) std::abort();
    return echomon::Status::Ok();
  });
  if (!s.ok() && s.message().empty()) std::abort();
  (void)ea::ParseAnomalyConfig(std::string(text), "fuzz");
  (void)ea::ParseNabTimestamp(text);
  return 0;
}
