// Offline replay of NAB-format CSV files (`timestamp,value` with a header line) through the
// streaming anomaly detector, and loading of the detector's configuration file.
//
// Parsing never throws and never crashes on bad input: every error names the 1-based line and
// the reason. Functions are thread-compatible (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "analyze/anomaly_detector.h"
#include "echomon/status.h"

namespace echomon::analyze {

// Parses a timestamp as NAB writes it, "YYYY-MM-DD HH:MM:SS" with optional fractional seconds
// (".000000") and optional 'T' separator, read as UTC; or Unix seconds (integer or decimal).
// Returns milliseconds since the epoch, or a ParseError saying what is wrong.
Result<int64_t> ParseNabTimestamp(std::string_view text);

// One data row of a NAB CSV. `timestamp` points into the parsed text.
struct NabCsvRow {
  size_t line = 0;  // 1-based line number in the input
  std::string_view timestamp;
  int64_t t_ms = 0;
  double value = 0.0;  // may be NaN when the field reads "nan"/"" is rejected
};

// Parses CSV text from memory. The first non-empty line is a header and must name the columns
// `timestamp` and `value` (other columns are ignored; order free). Each data row must have both
// fields, a parseable timestamp (rows are taken in file order;
// timestamps are not required to increase: real NAB files repeat and step back an hour at DST
// changes) and a number as value
// ("nan" is accepted and means a missing sample). Blank lines and a trailing "\r" are skipped.
// `on_row` is called for each row in order; a non-ok Status from it stops the parse and is
// returned. Errors look like "line 17: value 'abc' is not a number".
Status ParseNabCsv(std::string_view text, const std::function<Status(const NabCsvRow&)>& on_row);

// Progress callback: rows written so far, input bytes consumed so far, input size.
using ReplayProgress = std::function<void(size_t rows_done, size_t bytes_done, size_t bytes_total)>;

// Reads `input` (NAB CSV), runs one AnomalyDetector built from `config` over its rows in order
// and writes `output` as `timestamp,value,anomaly_score` (timestamps copied verbatim, scores
// with 6 decimals). `progress` (may be empty) is called every 4096 rows and once at the end.
// On any error nothing is left at `output` (it is written to a temporary file and renamed) and
// the returned Status names the file, the line and the reason.
Status ReplayCsv(const std::string& input, const std::string& output, const AnomalyConfig& config,
                 const ReplayProgress& progress);

// Same, but returns the scores in memory instead of writing a file (used by the NAB scorer).
struct ReplayedSeries {
  std::vector<int64_t> t_ms;
  std::vector<double> values;
  std::vector<double> scores;
};
Result<ReplayedSeries> ReplayCsvToMemory(const std::string& input, const AnomalyConfig& config);

// Reads a YAML (or JSON) file with the detector's parameters. Every key is optional and named
// as the AnomalyConfig field, e.g.
//   anomaly:            # optional enclosing section
//     warmup_points: 150
//     likelihood_short_window: 10
// Unknown keys and out-of-range values are errors that name the key (and the line for YAML).
Result<AnomalyConfig> LoadAnomalyConfig(const std::string& path);

// Same, from text already in memory (`origin` names it in error messages).
Result<AnomalyConfig> ParseAnomalyConfig(const std::string& text, const std::string& origin);

// Sets one parameter by its key (as in the config file); fails naming the key when it is
// unknown or out of range. Used by the config loader and the NAB tools' --set option.
Status SetAnomalyParam(AnomalyConfig& config, std::string_view key, double value);

}  // namespace echomon::analyze
