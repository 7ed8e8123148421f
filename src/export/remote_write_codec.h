// Remote-Write 1.0 request bodies: a prometheus.WriteRequest protobuf (remote_write.proto)
// compressed with snappy's block format (not the framed format), as the specification requires.
//
//   std::vector<WriteSeries> series = ...;       // labels include __name__, sorted by name
//   std::string body = EncodeWriteRequest(series);  // ready to POST
//   auto decoded = DecodeWriteRequest(body);        // the inverse, for tests and receivers
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"
#include "echomon/status.h"

namespace echomon::remote_write {

struct WriteSample {
  int64_t t_ms = 0;
  double value = 0;
  bool operator==(const WriteSample&) const = default;
};

// One series of a request: its full label set (including __name__; core::Labels keeps it
// sorted by name, as the specification requires) and its samples, oldest first.
struct WriteSeries {
  core::Labels labels;
  std::vector<WriteSample> samples;
};

// The same without copies: what the sender builds from its series table.
struct WriteSeriesView {
  const core::Labels* labels = nullptr;
  const WriteSample* samples = nullptr;
  size_t count = 0;
};

// Serialises the WriteRequest without compressing it (the benchmark's baseline and a step of
// EncodeWriteRequest). Never fails.
std::string SerializeWriteRequest(const std::vector<WriteSeries>& series);

// Serialises and snappy-compresses (block format). Never fails.
std::string EncodeWriteRequest(const std::vector<WriteSeries>& series);
std::string SerializeWriteRequest(const std::vector<WriteSeriesView>& series);
std::string EncodeWriteRequest(const std::vector<WriteSeriesView>& series);

// Snappy block compression / decompression. Decompress fails with ParseError on input that
// is not a valid snappy block or would expand beyond max_bytes.
std::string SnappyCompress(std::string_view raw);
Result<std::string> SnappyDecompress(std::string_view compressed, size_t max_bytes = 64u << 20);

// Decompresses and parses a request body. ParseError when either step fails or a series
// breaks the 1.0 rules this encoder follows (labels not sorted or repeated, no __name__,
// samples out of order).
Result<std::vector<WriteSeries>> DecodeWriteRequest(std::string_view body);

}  // namespace echomon::remote_write
