#include "analyze/replay.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <variant>
#include <vector>

namespace echomon::analyze {
namespace {

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  return out + "'";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool ParseInt(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseDouble(std::string_view s, double& out) {
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits a CSV line on commas (no quoting in NAB files; quotes around a field are stripped).
void SplitFields(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    std::string_view f = Trim(
        line.substr(start, comma == std::string_view::npos ? line.size() - start : comma - start));
    if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
    fields.push_back(f);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot open " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Status::IoError("cannot read " + path);
  return buf.str();
}

}  // namespace

Result<int64_t> ParseNabTimestamp(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return Status::ParseError("empty timestamp");
  // Unix seconds: digits with an optional fraction.
  if (text.find('-', 1) == std::string_view::npos) {
    double secs = 0;
    if (!ParseDouble(text, secs) || !std::isfinite(secs) || std::abs(secs) > 1e13) {
      return Status::ParseError("timestamp " + Quote(text) + " is neither a date nor Unix seconds");
    }
    return static_cast<int64_t>(std::llround(secs * 1000.0));
  }
  // YYYY-MM-DD[ T]HH:MM:SS[.frac]
  auto bad = [&](const char* why) {
    return Status::ParseError("timestamp " + Quote(text) + ": " + why +
                              " (want YYYY-MM-DD HH:MM:SS or Unix seconds)");
  };
  if (text.size() < 19) return bad("too short");
  if (text[4] != '-' || text[7] != '-' || (text[10] != ' ' && text[10] != 'T') || text[13] != ':' ||
      text[16] != ':') {
    return bad("bad separators");
  }
  int y, mo, d, h, mi, s;
  if (!ParseInt(text.substr(0, 4), y) || !ParseInt(text.substr(5, 2), mo) ||
      !ParseInt(text.substr(8, 2), d) || !ParseInt(text.substr(11, 2), h) ||
      !ParseInt(text.substr(14, 2), mi) || !ParseInt(text.substr(17, 2), s)) {
    return bad("non-numeric field");
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 0 || h < 0 ||
      mi < 0 || s < 0) {
    return bad("field out of range");
  }
  int64_t ms = 0;
  std::string_view rest = text.substr(19);
  if (!rest.empty()) {
    if (rest.front() != '.' || rest.size() < 2) return bad("trailing characters");
    rest.remove_prefix(1);
    int64_t scale = 100;
    for (char c : rest) {
      if (c < '0' || c > '9') return bad("bad fractional seconds");
      ms += (c - '0') * scale;
      scale /= 10;
    }
  }
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * 60000 + s * 1000 + ms;
}

Status ParseNabCsv(std::string_view text, const std::function<Status(const NabCsvRow&)>& on_row) {
  size_t pos = 0, line_no = 0;
  int ts_col = -1, value_col = -1;
  size_t need_fields = 0;
  std::vector<std::string_view> fields;
  auto error = [&](const std::string& why) {
    return Status::ParseError("line " + std::to_string(line_no) + ": " + why);
  };
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (Trim(line).empty()) continue;
    if (line.find('\0') != std::string_view::npos) return error("contains a NUL byte");
    SplitFields(line, fields);
    if (ts_col < 0) {
      if (line_no == 1 && line.size() >= 3 && line.substr(0, 3) == "\xEF\xBB\xBF") {
        fields.front().remove_prefix(3);  // UTF-8 byte order mark
      }
      for (size_t i = 0; i < fields.size(); ++i) {
        if (fields[i] == "timestamp" && ts_col < 0) ts_col = static_cast<int>(i);
        if (fields[i] == "value" && value_col < 0) value_col = static_cast<int>(i);
      }
      if (ts_col < 0 || value_col < 0) {
        return error("header " + Quote(line) + " must name the columns 'timestamp' and 'value'");
      }
      need_fields = static_cast<size_t>(std::max(ts_col, value_col)) + 1;
      continue;
    }
    if (fields.size() < need_fields) {
      return error("expected at least " + std::to_string(need_fields) + " fields, found " +
                   std::to_string(fields.size()));
    }
    NabCsvRow row;
    row.line = line_no;
    row.timestamp = fields[ts_col];
    auto t = ParseNabTimestamp(row.timestamp);
    if (!t.ok()) return error(t.status().message());
    row.t_ms = *t;
    const std::string_view v = fields[value_col];
    if (v == "nan" || v == "NaN" || v == "NAN") {
      row.value = std::numeric_limits<double>::quiet_NaN();
    } else if (!ParseDouble(v, row.value)) {
      return error("value " + Quote(v) + " is not a number");
    }
    Status s = on_row(row);
    if (!s.ok()) return s;
  }
  if (ts_col < 0) return Status::ParseError("no header line (want 'timestamp,value')");
  return Status::Ok();
}

Result<ReplayedSeries> ReplayCsvToMemory(const std::string& input, const AnomalyConfig& config) {
  auto text = ReadFile(input);
  if (!text.ok()) return text.status();
  ReplayedSeries out;
  AnomalyDetector detector(config);
  Status s = ParseNabCsv(*text, [&](const NabCsvRow& row) {
    out.t_ms.push_back(row.t_ms);
    out.values.push_back(row.value);
    out.scores.push_back(detector.Update(row.t_ms, row.value));
    return Status::Ok();
  });
  if (!s.ok()) return Status(s.code(), input + ": " + s.message());
  return out;
}

Status ReplayCsv(const std::string& input, const std::string& output, const AnomalyConfig& config,
                 const ReplayProgress& progress) {
  auto text = ReadFile(input);
  if (!text.ok()) return text.status();
  const std::string tmp = output + ".tmp";
  std::FILE* out = std::fopen(tmp.c_str(), "wb");
  if (out == nullptr) return Status::IoError("cannot create " + tmp);
  std::fputs("timestamp,value,anomaly_score\n", out);
  AnomalyDetector detector(config);
  size_t rows = 0;
  const std::string_view all(*text);
  Status s = ParseNabCsv(all, [&](const NabCsvRow& row) {
    const double score = detector.Update(row.t_ms, row.value);
    std::fprintf(out, "%.*s,%.17g,%.6f\n", static_cast<int>(row.timestamp.size()),
                 row.timestamp.data(), row.value, score);
    ++rows;
    if (progress && rows % 4096 == 0) {
      const size_t done = static_cast<size_t>(row.timestamp.data() - all.data());
      progress(rows, done, all.size());
    }
    return Status::Ok();
  });
  const bool write_failed = std::ferror(out) != 0;
  if (std::fclose(out) != 0 || write_failed) {
    if (s.ok()) s = Status::IoError("cannot write " + tmp);
  }
  if (s.ok() && std::rename(tmp.c_str(), output.c_str()) != 0) {
    s = Status::IoError("cannot rename " + tmp + " to " + output);
  }
  if (!s.ok()) {
    std::remove(tmp.c_str());
    if (s.code() == StatusCode::kParseError) return Status(s.code(), input + ": " + s.message());
    return s;
  }
  if (progress) progress(rows, all.size(), all.size());
  return Status::Ok();
}

namespace {

struct ParamSpec {
  const char* name;
  std::variant<int AnomalyConfig::*, double AnomalyConfig::*> field;
  double lo, hi;
};

constexpr double kInf = std::numeric_limits<double>::infinity();

const ParamSpec kParams[] = {
    {"warmup_points", &AnomalyConfig::warmup_points, 0, 1e9},
    {"baseline_alpha", &AnomalyConfig::baseline_alpha, 1e-9, 1},
    {"histogram_decay", &AnomalyConfig::histogram_decay, 0, 1},
    {"weight_value_z", &AnomalyConfig::weight_value_z, 0, 1},
    {"weight_diff_z", &AnomalyConfig::weight_diff_z, 0, 1},
    {"weight_histogram", &AnomalyConfig::weight_histogram, 0, 1},
    {"weight_pattern", &AnomalyConfig::weight_pattern, 0, 1},
    {"pattern_block", &AnomalyConfig::pattern_block, 1, 10000},
    {"pattern_vigilance", &AnomalyConfig::pattern_vigilance, 1e-6, 1},
    {"raw_mix", &AnomalyConfig::raw_mix, 0, 1},
    {"spatial_score", &AnomalyConfig::spatial_score, 0, 1},
    {"raw_power", &AnomalyConfig::raw_power, 0.01, 100},
    {"spatial_tolerance", &AnomalyConfig::spatial_tolerance, -1, kInf},
    {"likelihood_short_window", &AnomalyConfig::likelihood_short_window, 1, 64},
    {"likelihood_long_alpha", &AnomalyConfig::likelihood_long_alpha, 1e-9, 1},
    {"likelihood_min_std", &AnomalyConfig::likelihood_min_std, 1e-9, 1},
    {"alarm_level", &AnomalyConfig::alarm_level, 0, 1},
    {"refractory_points", &AnomalyConfig::refractory_points, 0, 1e9},
    {"refractory_factor", &AnomalyConfig::refractory_factor, 0, 1},
    {"weight_daily", &AnomalyConfig::weight_daily, 0, 1},
    {"weight_weekly", &AnomalyConfig::weight_weekly, 0, 1},
    {"profile_alpha", &AnomalyConfig::profile_alpha, 1e-9, 1},
    {"daily_gate", &AnomalyConfig::daily_gate, -kInf, 1},
    {"weekly_gate", &AnomalyConfig::weekly_gate, -kInf, 1},
    {"profile_k", &AnomalyConfig::profile_k, 1e-9, kInf},
    {"profile_floor", &AnomalyConfig::profile_floor, 0, 1},
    {"profile_direct", &AnomalyConfig::profile_direct, 0, 1},
    {"profile_max_rate", &AnomalyConfig::profile_max_rate, 0, 1},
};

}  // namespace

Status SetAnomalyParam(AnomalyConfig& config, std::string_view key, double value) {
  for (const ParamSpec& p : kParams) {
    if (key != p.name) continue;
    if (!(value >= p.lo && value <= p.hi)) {
      std::ostringstream msg;
      msg << "'" << key << "' must be in [" << p.lo << ", " << p.hi << "], got " << value;
      return Status::InvalidArgument(msg.str());
    }
    if (auto* f = std::get_if<int AnomalyConfig::*>(&p.field)) {
      if (value != std::floor(value)) {
        return Status::InvalidArgument("'" + std::string(key) + "' must be an integer");
      }
      config.*(*f) = static_cast<int>(value);
    } else {
      config.*std::get<double AnomalyConfig::*>(p.field) = value;
    }
    return Status::Ok();
  }
  return Status::InvalidArgument("unknown anomaly detector key '" + std::string(key) + "'");
}

Result<AnomalyConfig> ParseAnomalyConfig(const std::string& text, const std::string& origin) {
  AnomalyConfig config;
  try {
    YAML::Node root = YAML::Load(text);
    if (!root || root.IsNull()) return config;
    if (!root.IsMap()) return Status::ParseError(origin + ": top level must be a mapping");
    if (root["anomaly"]) root = root["anomaly"];
    if (!root.IsMap()) return Status::ParseError(origin + ": 'anomaly' must be a mapping");
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      const std::string where = origin + ":" + std::to_string(kv.first.Mark().line + 1) + ": ";
      double value = 0;
      try {
        value = kv.second.as<double>();
      } catch (const YAML::Exception&) {
        return Status::ParseError(where + "'" + key + "' must be a number");
      }
      Status s = SetAnomalyParam(config, key, value);
      if (!s.ok()) return Status::InvalidArgument(where + s.message());
    }
  } catch (const YAML::Exception& e) {
    return Status::ParseError(origin + ": " + e.what());
  }
  return config;
}

Result<AnomalyConfig> LoadAnomalyConfig(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseAnomalyConfig(*text, path);
}

}  // namespace echomon::analyze
