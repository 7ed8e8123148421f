// nab_experiment: evaluates many detector variants on the NAB data in one process, with the
// held-out protocol of docs/anomaly.md (leave one category out).
//
//   nab_experiment NAB_DIR VARIANTS_FILE
//
// VARIANTS_FILE: one variant per line, `name key=value key=value ...` (keys as in
// `nab_score --set`); `#` starts a comment. For every variant it prints the whole-set scores
// (standard / low FP / low FN, with windows found and FP rows at the standard threshold), and
// the pooled held-out score: for each category, the threshold is optimised on the other
// categories and the held-out category is scored at it; the held-out raw scores of all folds
// are summed and normalised over all windows (NAB_FOLDS=file: leave one file out instead). At the
// end, "selection" picks, in each fold, the variant of the file with the best standard score on the
// other categories and reports its pooled held-out score (the fair number for a grid).
//
// Built by hand (not part of the CMake build), from the repository root, e.g.
//   g++ -O2 -std=c++20 -Iinclude -Isrc bench/nab/nab_experiment.cc
//   src/analyze/{anomaly_detector,nab_scorer,replay}.cc
//       build/src/core/libechomon_core.a -lyaml-cpp -lpthread -o /tmp/nab_experiment
// (one line). Environment: NAB_DETAIL=1 lists, per file, the rows flagged at the standard
// threshold (window found and where in it, false positives, missed windows with their best
// score); NAB_FOLDS=file; NAB_TSHIFT_MIN=N feeds the detector timestamps shifted by N minutes
// (the windows stay where they are), to check that seasonal buckets are not aligned by luck.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "analyze/anomaly_detector.h"
#include "analyze/nab_scorer.h"
#include "analyze/replay.h"

namespace ea = echomon::analyze;

struct File {
  std::string rel, category;
  std::vector<int64_t> t;
  std::vector<double> v;
  std::vector<ea::RowWindow> windows;
};

struct Variant {
  std::string name;
  ea::AnomalyConfig config;
};

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: nab_experiment NAB_DIR VARIANTS_FILE\n");
    return 2;
  }
  const std::string data = argv[1];
  auto labels = ea::LoadNabLabels(data + "/labels/combined_windows.json");
  auto profiles = ea::LoadNabProfiles(data + "/config/profiles.json");
  if (!labels.ok() || !profiles.ok()) {
    std::fprintf(stderr, "cannot load labels/profiles\n");
    return 2;
  }
  std::vector<File> files;
  std::vector<std::string> categories;
  for (const auto& [rel, windows] : labels->files) {
    auto r = ea::ReplayCsvToMemory(data + "/data/" + rel, ea::AnomalyConfig{});
    if (!r.ok()) continue;
    File f;
    f.rel = rel;
    // Folds: categories, or single files with NAB_FOLDS=file (leave one file out).
    const char* folds = std::getenv("NAB_FOLDS");
    f.category =
        folds != nullptr && std::string(folds) == "file" ? rel : rel.substr(0, rel.find('/'));
    f.t = r->t_ms;
    f.v = r->values;
    f.windows = ea::WindowsToRows(f.t, windows);
    // NAB_TSHIFT_MIN: shift every timestamp (checks that seasonal buckets are not aligned by luck).
    if (const char* sh = std::getenv("NAB_TSHIFT_MIN"))
      for (int64_t& t : f.t) t += static_cast<int64_t>(std::atof(sh) * 60000);

    if (categories.empty() || categories.back() != f.category) categories.push_back(f.category);
    files.push_back(std::move(f));
  }
  size_t total_windows = 0;
  for (const File& f : files) total_windows += f.windows.size();

  std::vector<Variant> variants;
  std::ifstream in(argv[2]);
  std::string line;
  while (std::getline(in, line)) {
    if (const size_t h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream ss(line);
    Variant var;
    if (!(ss >> var.name)) continue;
    std::string kv;
    bool ok = true;
    while (ss >> kv) {
      const size_t eq = kv.find('=');
      auto s = eq == std::string::npos ? echomon::Status::InvalidArgument("want key=value: " + kv)
                                       : ea::SetAnomalyParam(var.config, kv.substr(0, eq),
                                                             std::atof(kv.c_str() + eq + 1));
      if (!s.ok()) {
        std::fprintf(stderr, "%s: %s\n", var.name.c_str(), s.message().c_str());
        ok = false;
      }
    }
    if (ok) variants.push_back(var);
  }

  const size_t nc = categories.size();
  // Per variant, per fold: standard score on the rest, held-out raw per profile.
  std::vector<std::vector<double>> rest_std(variants.size(), std::vector<double>(nc));
  std::vector<std::vector<std::vector<double>>> held_raw(
      variants.size(), std::vector<std::vector<double>>(nc, std::vector<double>(profiles->size())));
  std::printf("%-28s %6s %6s %6s %7s | %-20s | held-out std per category\n", "variant", "std",
              "lowFP", "lowFN", "tp/fp", "LOCO std/lowFP/lowFN");
  for (size_t vi = 0; vi < variants.size(); ++vi) {
    std::vector<ea::NabSeries> corpus;
    for (const File& f : files) {
      ea::AnomalyDetector det(variants[vi].config);
      ea::NabSeries s;
      s.name = f.rel;
      s.windows = f.windows;
      s.scores.reserve(f.v.size());
      for (size_t i = 0; i < f.v.size(); ++i) s.scores.push_back(det.Update(f.t[i], f.v[i]));
      corpus.push_back(std::move(s));
    }
    if (std::getenv("NAB_DETAIL") != nullptr) {
      // Rows flagged at the standard threshold: window index (or FP) and position in it.
      const ea::NabProfileResult r = ea::ScoreNabCorpus(corpus, (*profiles)[0]);
      for (const ea::NabSeries& s : corpus) {
        const size_t prob = ea::NabProbationRows(s.scores.size());
        std::string out;
        std::vector<bool> found(s.windows.size());
        for (size_t i = prob; i < s.scores.size(); ++i) {
          if (s.scores[i] < r.threshold) continue;
          char b[64];
          bool in = false;
          for (size_t w = 0; w < s.windows.size(); ++w) {
            if (i >= s.windows[w].first && i <= s.windows[w].second) {
              in = true;
              if (!found[w]) {
                found[w] = true;
                std::snprintf(b, sizeof b, " W%zu@%.2f(%.2f)", w,
                              double(i - s.windows[w].first) /
                                  double(s.windows[w].second - s.windows[w].first + 1),
                              s.scores[i]);
                out += b;
              }
            }
          }
          if (!in) {
            std::snprintf(b, sizeof b, " fp%zu(%.2f)", i, s.scores[i]);
            out += b;
          }
        }
        for (size_t w = 0; w < s.windows.size(); ++w)
          if (!found[w]) {
            double mx = 0;
            size_t at = 0;
            for (size_t i = std::max(prob, s.windows[w].first); i <= s.windows[w].second; ++i)
              if (s.scores[i] > mx) mx = s.scores[i], at = i;
            char b[64];
            std::snprintf(b, sizeof b, " MISS%zu(max %.2f @%zu in [%zu,%zu])", w, mx, at,
                          s.windows[w].first, s.windows[w].second);
            out += b;
          }
        std::printf("  %-50s %s\n", s.name.c_str(), out.c_str());
      }
    }
    std::string whole, loco, per_cat;
    char buf[128];
    for (size_t pi = 0; pi < profiles->size(); ++pi) {
      const ea::NabProfile& p = (*profiles)[pi];
      const ea::NabProfileResult r = ea::ScoreNabCorpus(corpus, p);
      std::snprintf(buf, sizeof buf, "%6.2f ", r.normalized);
      whole += buf;
      if (pi == 0) {
        std::snprintf(buf, sizeof buf, "%3zu/%-3zu ", r.true_positives, r.false_positives);
        whole += buf;  // printed after the three scores below
      }
      double held = 0;
      for (size_t c = 0; c < nc; ++c) {
        std::vector<ea::NabSeries> rest, out;
        size_t out_windows = 0;
        for (size_t i = 0; i < files.size(); ++i) {
          if (files[i].category == categories[c]) {
            out.push_back(corpus[i]);
            out_windows += files[i].windows.size();
          } else {
            rest.push_back(corpus[i]);
          }
        }
        const ea::NabProfileResult rr = ea::ScoreNabCorpus(rest, p);
        double raw = 0;
        for (const auto& s : out) raw += ea::NabSeriesScore(s, p, rr.threshold);
        held_raw[vi][c][pi] = raw;
        held += raw;
        if (pi == 0) {
          rest_std[vi][c] = rr.normalized;
          if (out_windows > 0) {
            std::snprintf(buf, sizeof buf, "%6.2f ",
                          100.0 * (raw + p.fn_weight * out_windows) /
                              ((p.tp_weight + p.fn_weight) * out_windows));
          } else {
            std::snprintf(buf, sizeof buf, "raw%+.2f ", raw);
          }
          per_cat += buf;
        }
      }
      std::snprintf(buf, sizeof buf, "%6.2f ",
                    100.0 * (held + p.fn_weight * total_windows) /
                        ((p.tp_weight + p.fn_weight) * total_windows));
      loco += buf;
    }
    // whole = "std tp/fp lowFP lowFN": reorder for printing.
    std::istringstream ws(whole);
    std::string s0, tpfp, s1, s2;
    ws >> s0 >> tpfp >> s1 >> s2;
    std::printf("%-28s %6s %6s %6s %7s | %s| %s\n", variants[vi].name.c_str(), s0.c_str(),
                s1.c_str(), s2.c_str(), tpfp.c_str(), loco.c_str(), per_cat.c_str());
    std::fflush(stdout);
  }
  // Selection: per fold, the variant with the best standard score on the rest.
  std::string picks;
  std::vector<double> sel(profiles->size(), 0);
  for (size_t c = 0; c < nc; ++c) {
    size_t best = 0;
    for (size_t vi = 1; vi < variants.size(); ++vi)
      if (rest_std[vi][c] > rest_std[best][c] + 1e-9) best = vi;
    picks += categories[c] + "->" + variants[best].name + " ";
    for (size_t pi = 0; pi < profiles->size(); ++pi) sel[pi] += held_raw[best][c][pi];
  }
  std::printf("selection LOCO:");
  for (size_t pi = 0; pi < profiles->size(); ++pi) {
    const ea::NabProfile& p = (*profiles)[pi];
    std::printf(" %.2f", 100.0 * (sel[pi] + p.fn_weight * total_windows) /
                             ((p.tp_weight + p.fn_weight) * total_windows));
  }
  std::printf("\n  picks: %s\n", picks.c_str());
  return 0;
}
