// nab_score: scores anomaly detectors on the NAB data set with the rules of
// shared/data/README.md (see analyze/nab_scorer.h).
//
//   nab_score [--data DIR] [--results DIR | --detector echomon|windowed_gaussian|null]
//             [--config FILE] [--set key=value]... [--only PREFIX] [--exclude PREFIX] [--detail]
//             [--threshold T]
//
// --data     NAB root holding data/, labels/combined_windows.json, config/profiles.json
//            (default ../shared/data/nab).
// --results  a directory mirroring data/ whose CSVs end with an anomaly_score column (as written
//            by `echomon detect` or nab_detect); otherwise the detector runs in process.
// --threshold scores at a fixed threshold instead of the corpus-optimised one (e.g. the
//            threshold NAB published for the full corpus, to compare with published numbers).
// --only / --exclude keep / drop files whose relative path starts with PREFIX (for
//            leave-one-category-out checks).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "analyze/anomaly_detector.h"
#include "analyze/nab_scorer.h"
#include "analyze/replay.h"

namespace {

using echomon::Result;
using echomon::Status;
namespace ea = echomon::analyze;

int Fail(const std::string& msg) {
  std::fprintf(stderr, "nab_score: %s\n", msg.c_str());
  return 2;
}

// Reads the last column of a results CSV (header + rows) as scores.
Result<std::vector<double>> ReadResultScores(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot open " + path);
  std::vector<double> scores;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line_no == 1 || line.empty()) continue;
    const size_t comma = line.rfind(',');
    char* end = nullptr;
    const std::string field = line.substr(comma == std::string::npos ? 0 : comma + 1);
    const double v = std::strtod(field.c_str(), &end);
    if (end == field.c_str()) {
      return Status::ParseError(path + ": line " + std::to_string(line_no) + ": bad score");
    }
    scores.push_back(v);
  }
  return scores;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "../shared/data/nab", results, detector = "echomon", only, exclude;
  bool detail = false;
  double fixed_threshold = -1;  // < 0: optimise
  ea::AnomalyConfig config;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "nab_score: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--data") {
      data = next();
    } else if (a == "--results") {
      results = next();
    } else if (a == "--detector") {
      detector = next();
    } else if (a == "--only") {
      only = next();
    } else if (a == "--exclude") {
      exclude = next();
    } else if (a == "--threshold") {
      fixed_threshold = std::atof(next().c_str());
    } else if (a == "--detail") {
      detail = true;
    } else if (a == "--config") {
      auto c = ea::LoadAnomalyConfig(next());
      if (!c.ok()) return Fail(c.status().message());
      config = *c;
    } else if (a == "--set") {
      const std::string kv = next();
      const size_t eq = kv.find('=');
      if (eq == std::string::npos) return Fail("--set wants key=value");
      Status s = ea::SetAnomalyParam(config, kv.substr(0, eq), std::atof(kv.c_str() + eq + 1));
      if (!s.ok()) return Fail(s.message());
    } else {
      return Fail("unknown argument " + a + " (see the comment at the top of nab_score_main.cc)");
    }
  }
  auto labels = ea::LoadNabLabels(data + "/labels/combined_windows.json");
  if (!labels.ok()) return Fail(labels.status().message());
  auto profiles = ea::LoadNabProfiles(data + "/config/profiles.json");
  if (!profiles.ok()) return Fail(profiles.status().message());

  std::vector<ea::NabSeries> corpus;
  for (const auto& [rel, windows] : labels->files) {
    if (!only.empty() && rel.rfind(only, 0) != 0) continue;
    if (!exclude.empty() && rel.rfind(exclude, 0) == 0) continue;
    const std::string path = data + "/data/" + rel;
    if (!std::filesystem::exists(path)) continue;
    // Timestamps (and, when running in process, the scores) come from the data file.
    auto replay = ea::ReplayCsvToMemory(path, config);
    if (!replay.ok()) return Fail(replay.status().message());
    ea::NabSeries s;
    s.name = rel;
    s.windows = ea::WindowsToRows(replay->t_ms, windows);
    if (!results.empty()) {
      auto r = ReadResultScores(results + "/" + rel);
      if (!r.ok()) return Fail(r.status().message());
      if (r->size() != replay->t_ms.size())
        return Fail(results + "/" + rel + ": row count differs");
      s.scores = std::move(*r);
    } else if (detector == "echomon") {
      s.scores = std::move(replay->scores);
    } else if (detector == "windowed_gaussian") {
      ea::WindowedGaussianDetector wg;
      for (double v : replay->values) s.scores.push_back(wg.Update(v));
    } else if (detector == "null") {
      s.scores.assign(replay->values.size(), 0.5);
    } else {
      return Fail("unknown detector " + detector);
    }
    corpus.push_back(std::move(s));
  }
  size_t n_windows = 0;
  for (const auto& s : corpus) n_windows += s.windows.size();
  std::printf("detector=%s files=%zu windows=%zu\n",
              results.empty() ? detector.c_str() : results.c_str(), corpus.size(), n_windows);
  for (const ea::NabProfile& p : *profiles) {
    ea::NabProfileResult r = ea::ScoreNabCorpus(corpus, p);
    if (fixed_threshold >= 0) {
      r.threshold = fixed_threshold;
      r.raw = 0;
      for (const ea::NabSeries& s : corpus) r.raw += ea::NabSeriesScore(s, p, fixed_threshold);
      r.normalized = 100.0 * (r.raw - r.null_score) / (r.perfect - r.null_score);
      r.true_positives = r.false_negatives = r.false_positives = 0;  // not recounted
    }
    std::printf("%-20s score=%6.2f threshold=%.10g raw=%8.3f tp=%zu fn=%zu fp=%zu\n",
                p.name.c_str(), r.normalized, r.threshold, r.raw, r.true_positives,
                r.false_negatives, r.false_positives);
    if (detail) {
      for (const ea::NabSeries& s : corpus) {
        std::printf("    %-60s windows=%zu raw=%7.3f\n", s.name.c_str(), s.windows.size(),
                    ea::NabSeriesScore(s, p, r.threshold));
      }
    }
  }
  return 0;
}
