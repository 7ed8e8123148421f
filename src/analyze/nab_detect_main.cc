// nab_detect: runs the streaming anomaly detector over one NAB CSV file.
//
//   nab_detect INPUT.csv OUTPUT.csv [CONFIG.yaml]
//
// Writes timestamp,value,anomaly_score. Exit status 1 and a message naming the line on bad input.
#include <cstdio>

#include "analyze/replay.h"

int main(int argc, char** argv) {
  namespace ea = echomon::analyze;
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: nab_detect INPUT.csv OUTPUT.csv [CONFIG.yaml]\n");
    return 2;
  }
  ea::AnomalyConfig config;
  if (argc == 4) {
    auto c = ea::LoadAnomalyConfig(argv[3]);
    if (!c.ok()) {
      std::fprintf(stderr, "nab_detect: %s\n", c.status().ToString().c_str());
      return 1;
    }
    config = *c;
  }
  const echomon::Status s = ea::ReplayCsv(argv[1], argv[2], config, nullptr);
  if (!s.ok()) {
    std::fprintf(stderr, "nab_detect: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
