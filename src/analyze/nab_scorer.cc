#include "analyze/nab_scorer.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "analyze/replay.h"

namespace echomon::analyze {
namespace {

double CleanScore(double s) {
  if (!std::isfinite(s)) return 0.0;
  return std::clamp(s, 0.0, 1.0);
}

Result<nlohmann::json> ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot open " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  try {
    return nlohmann::json::parse(buf.str());
  } catch (const std::exception& e) {
    return Status::ParseError(path + ": " + e.what());
  }
}

// Per-row weight of a detection: positive inside a window, a (usually negative) FP cost outside
// it. `window_of[i]` is the index of the window holding row i, or -1.
struct RowWeights {
  std::vector<double> weight;
  std::vector<int> window_of;
};

RowWeights ComputeRowWeights(size_t rows, const std::vector<RowWindow>& windows,
                             const NabProfile& p) {
  RowWeights w;
  w.weight.assign(rows, 0.0);
  w.window_of.assign(rows, -1);
  const double max_tp = ScaledSigmoid(-1.0);
  size_t next = 0;
  bool have_prev = false;
  double prev_right = 0, prev_width = 0;
  for (size_t i = 0; i < rows; ++i) {
    while (next < windows.size() && windows[next].second < i) {
      have_prev = true;
      prev_right = static_cast<double>(windows[next].second);
      prev_width = static_cast<double>(windows[next].second - windows[next].first + 1);
      ++next;
    }
    if (next < windows.size() && windows[next].first <= i) {
      const double width = static_cast<double>(windows[next].second - windows[next].first + 1);
      const double pos = -(static_cast<double>(windows[next].second) - i + 1) / width;
      w.weight[i] = ScaledSigmoid(pos) * p.tp_weight / max_tp;
      w.window_of[i] = static_cast<int>(next);
    } else {
      double u = -1.0;
      if (have_prev) {
        // A one-row window has prevW - 1 == 0; NAB would divide by zero, treat as far away.
        u = prev_width > 1 ? ScaledSigmoid(std::abs(prev_right - i) / (prev_width - 1)) : -1.0;
      }
      w.weight[i] = u * p.fp_weight;
    }
  }
  return w;
}

}  // namespace

std::vector<NabProfile> DefaultNabProfiles() {
  return {{"standard", 1.0, 1.0, 0.11},
          {"reward_low_FP_rate", 1.0, 1.0, 0.22},
          {"reward_low_FN_rate", 1.0, 2.0, 0.11}};
}

Result<std::vector<NabProfile>> LoadNabProfiles(const std::string& path) {
  auto j = ReadJson(path);
  if (!j.ok()) return j.status();
  std::vector<NabProfile> out;
  try {
    for (const auto& [name, body] : j->items()) {
      const auto& cm = body.at("CostMatrix");
      out.push_back({name, cm.at("tpWeight").get<double>(), cm.at("fnWeight").get<double>(),
                     cm.at("fpWeight").get<double>()});
    }
  } catch (const std::exception& e) {
    return Status::ParseError(path + ": " + e.what());
  }
  // Keep the published order.
  auto rank = [](const std::string& n) {
    return n == "standard" ? 0 : n == "reward_low_FP_rate" ? 1 : n == "reward_low_FN_rate" ? 2 : 3;
  };
  std::stable_sort(out.begin(), out.end(), [&](const NabProfile& a, const NabProfile& b) {
    return rank(a.name) < rank(b.name);
  });
  return out;
}

double ScaledSigmoid(double x) {
  if (x > 3.0) return -1.0;
  return 2.0 / (1.0 + std::exp(5.0 * x)) - 1.0;
}

size_t NabProbationRows(size_t rows) {
  return std::min<size_t>(static_cast<size_t>(std::floor(0.15 * static_cast<double>(rows))), 750);
}

double NabRawScore(const std::vector<bool>& detected, const std::vector<RowWindow>& windows,
                   const NabProfile& profile, size_t probation) {
  const RowWeights w = ComputeRowWeights(detected.size(), windows, profile);
  std::vector<double> best(windows.size(), -profile.fn_weight);
  std::vector<bool> hit(windows.size(), false);
  double fp = 0.0;
  for (size_t i = probation; i < detected.size(); ++i) {
    if (!detected[i]) continue;
    const int win = w.window_of[i];
    if (win < 0) {
      fp += w.weight[i];
    } else if (!hit[win]) {
      hit[win] = true;
      best[win] = w.weight[i];
    }
  }
  double total = fp;
  for (double b : best) total += b;
  return total;
}

double NabSeriesScore(const NabSeries& s, const NabProfile& profile, double threshold) {
  std::vector<bool> det(s.scores.size());
  for (size_t i = 0; i < det.size(); ++i) det[i] = CleanScore(s.scores[i]) >= threshold;
  return NabRawScore(det, s.windows, profile, NabProbationRows(s.scores.size()));
}

NabProfileResult ScoreNabCorpus(const std::vector<NabSeries>& corpus, const NabProfile& profile) {
  // Events (threshold, delta): lowering the threshold to `t` or below adds `delta`.
  std::vector<std::pair<double, double>> events;
  size_t n_windows = 0;
  for (const NabSeries& s : corpus) {
    n_windows += s.windows.size();
    const RowWeights w = ComputeRowWeights(s.scores.size(), s.windows, profile);
    const size_t probation = NabProbationRows(s.scores.size());
    // Per window, the rows that set a new running maximum score ("records", in row order).
    // For thresholds in (previous record's score, this record's score] this record is the
    // earliest detection, so lowering the threshold walks the records from the last to the first.
    std::vector<std::vector<std::pair<double, double>>> records(s.windows.size());
    for (size_t i = probation; i < s.scores.size(); ++i) {
      const double sc = CleanScore(s.scores[i]);
      const int win = w.window_of[i];
      if (win < 0) {
        events.emplace_back(sc, w.weight[i]);
      } else if (records[win].empty() || sc > records[win].back().first) {
        records[win].emplace_back(sc, w.weight[i]);
      }
    }
    for (const auto& rec : records) {
      double value = -profile.fn_weight;
      for (auto it = rec.rbegin(); it != rec.rend(); ++it) {
        events.emplace_back(it->first, it->second - value);
        value = it->second;
      }
    }
  }
  std::sort(events.begin(), events.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  NabProfileResult r;
  r.profile = profile.name;
  r.null_score = -profile.fn_weight * static_cast<double>(n_windows);
  r.perfect = profile.tp_weight * static_cast<double>(n_windows);
  double current = r.null_score;
  r.raw = current;
  r.threshold = 1.1;  // nothing detected
  for (size_t i = 0; i < events.size();) {
    const double t = events[i].first;
    while (i < events.size() && events[i].first == t) current += events[i++].second;
    if (current > r.raw) {
      r.raw = current;
      r.threshold = t;
    }
  }
  const double span = r.perfect - r.null_score;
  r.normalized = span > 0 ? 100.0 * (r.raw - r.null_score) / span : 0.0;
  for (const NabSeries& s : corpus) {
    const size_t probation = NabProbationRows(s.scores.size());
    std::vector<bool> hit(s.windows.size(), false);
    const RowWeights w = ComputeRowWeights(s.scores.size(), s.windows, profile);
    for (size_t i = probation; i < s.scores.size(); ++i) {
      if (CleanScore(s.scores[i]) < r.threshold) continue;
      if (w.window_of[i] < 0) {
        ++r.false_positives;
      } else {
        hit[w.window_of[i]] = true;
      }
    }
    for (bool h : hit) h ? ++r.true_positives : ++r.false_negatives;
  }
  return r;
}

Result<NabLabels> LoadNabLabels(const std::string& path) {
  auto j = ReadJson(path);
  if (!j.ok()) return j.status();
  NabLabels labels;
  try {
    for (const auto& [file, wins] : j->items()) {
      std::vector<NabTimeWindow> tw;
      for (const auto& w : wins) {
        auto a = ParseNabTimestamp(w.at(0).get<std::string>());
        auto b = ParseNabTimestamp(w.at(1).get<std::string>());
        if (!a.ok()) return Status::ParseError(path + ": " + file + ": " + a.status().message());
        if (!b.ok()) return Status::ParseError(path + ": " + file + ": " + b.status().message());
        tw.push_back({*a, *b});
      }
      std::sort(tw.begin(), tw.end(), [](const NabTimeWindow& x, const NabTimeWindow& y) {
        return x.start_ms < y.start_ms;
      });
      labels.files.emplace_back(file, std::move(tw));
    }
  } catch (const std::exception& e) {
    return Status::ParseError(path + ": " + e.what());
  }
  std::sort(labels.files.begin(), labels.files.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return labels;
}

std::vector<RowWindow> WindowsToRows(const std::vector<int64_t>& ts,
                                     const std::vector<NabTimeWindow>& windows) {
  std::vector<RowWindow> out;
  for (const NabTimeWindow& w : windows) {
    // Linear scan: timestamps may repeat or step back at DST changes.
    size_t first = ts.size(), last = 0;
    for (size_t i = 0; i < ts.size(); ++i) {
      if (ts[i] < w.start_ms || ts[i] > w.end_ms) continue;
      first = std::min(first, i);
      last = i;
    }
    if (first <= last && first < ts.size()) out.emplace_back(first, last);
  }
  return out;
}

}  // namespace echomon::analyze
