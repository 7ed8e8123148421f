// libFuzzer target for the chunk decoder (store/chunk.h): arbitrary bytes must decode or fail
// with a Status, never crash or read out of bounds. When they decode, re-encoding the samples
// must give a chunk that decodes to the same samples (bit for bit).
//
// Seeds: fuzz/corpus/chunk_decode/ (two real chunks, the docs/chunk-format.md example, and
// garbage).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "store/chunk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using echomon::store::ChunkEncoder;
  using echomon::store::DecodeChunk;
  using echomon::store::Point;

  std::vector<Point> points;
  if (!DecodeChunk(std::span<const uint8_t>(data, size), &points).ok()) {
    if (!points.empty()) __builtin_trap();  // output must be untouched on error
    return 0;
  }
  ChunkEncoder encoder;
  for (const Point& p : points) {
    if (!encoder.Append(p.t_ms, p.v).ok()) __builtin_trap();  // decoded data is always valid
  }
  std::vector<Point> again;
  if (!DecodeChunk(encoder.bytes(), &again).ok() || again.size() != points.size()) {
    __builtin_trap();
  }
  for (size_t i = 0; i < points.size(); ++i) {
    if (again[i].t_ms != points[i].t_ms ||
        std::bit_cast<uint64_t>(again[i].v) != std::bit_cast<uint64_t>(points[i].v)) {
      __builtin_trap();
    }
  }
  return 0;
}
