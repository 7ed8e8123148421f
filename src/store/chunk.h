// Gorilla-style compressed chunk of (timestamp, value) samples: delta-of-delta timestamps and
// XOR-compressed doubles, after Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory Time
// Series Database" (VLDB 2015), adapted to millisecond timestamps. The byte and bit layout is
// frozen and documented in docs/chunk-format.md; tests/store/chunk_test.cc pins it byte for byte.
//
// ChunkEncoder is the open, appendable chunk: its bytes() are a complete, decodable chunk after
// every Append. ChunkDecoder walks the bytes of any chunk and reports corruption or truncation
// as a Status, never by crashing or reading out of bounds.
//
// Thread-safety: value types without shared state; one thread at a time per object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "echomon/status.h"

namespace echomon::store {

struct Point {
  int64_t t_ms;
  double v;
  bool operator==(const Point&) const = default;
};

inline constexpr uint8_t kChunkFormatVersion = 1;
inline constexpr size_t kChunkHeaderBytes = 3;  // version, uint16 big-endian sample count
inline constexpr uint32_t kChunkMaxSamples = 65535;

class ChunkEncoder {
 public:
  ChunkEncoder();

  // Appends one sample. Fails with InvalidArgument (and changes nothing) when t_ms is not
  // strictly after the previous timestamp or the step does not fit in an int64, and with
  // ResourceExhausted when the chunk already holds kChunkMaxSamples samples.
  Status Append(int64_t t_ms, double value);

  uint32_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  int64_t min_t() const { return min_t_; }  // meaningful only when !empty()
  int64_t max_t() const { return prev_t_; }
  double last_value() const;

  // The encoded chunk as it stands: header plus bit stream, zero padded to a whole byte.
  // Valid until the next non-const call.
  std::span<const uint8_t> bytes() const { return buf_; }
  // Moves the encoded bytes out and resets the encoder to empty.
  std::vector<uint8_t> TakeBytes();
  void Reset();
  // Heap bytes held (for memory accounting).
  size_t capacity_bytes() const { return buf_.capacity(); }

 private:
  void WriteBits(uint64_t value, int nbits);

  std::vector<uint8_t> buf_;
  int free_bits_ = 0;  // unused low bits in buf_.back()
  uint32_t count_ = 0;
  int64_t min_t_ = 0;
  int64_t prev_t_ = 0;
  uint64_t prev_delta_ = 0;
  uint64_t prev_v_bits_ = 0;
  int leading_ = -1;  // current XOR window; -1 until the first '11' control
  int trailing_ = 0;
};

// Iterates the samples of an encoded chunk, oldest first.
//
//   ChunkDecoder d(bytes);
//   while (d.Next()) use(d.t_ms(), d.value());
//   if (!d.status().ok()) ...  // corrupt or truncated
class ChunkDecoder {
 public:
  // data must outlive the decoder.
  explicit ChunkDecoder(std::span<const uint8_t> data);

  // Advances to the next sample. Returns false at the end or on the first error, after which
  // status() says what was wrong (ParseError) and Next() keeps returning false.
  bool Next();
  int64_t t_ms() const { return t_; }
  double value() const;
  // Sample count from the header (0 when the header is invalid).
  uint32_t count() const { return count_; }
  const Status& status() const { return status_; }

 private:
  bool ReadBits(int nbits, uint64_t* out);
  bool Fail(const char* what);

  std::span<const uint8_t> data_;
  size_t bit_pos_ = 0;
  size_t bit_end_ = 0;
  uint32_t count_ = 0;
  uint32_t read_ = 0;
  int64_t t_ = 0;
  uint64_t delta_ = 0;
  uint64_t v_bits_ = 0;
  int leading_ = -1;
  int trailing_ = 0;
  bool failed_ = false;
  Status status_;
};

// Decodes a whole chunk, appending its samples to *out. On error returns ParseError and leaves
// *out as it was.
Status DecodeChunk(std::span<const uint8_t> data, std::vector<Point>* out);

}  // namespace echomon::store
