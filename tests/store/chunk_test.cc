#include "store/chunk.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace echomon::store {
namespace {

// The worked example of docs/chunk-format.md.
const std::vector<Point> kExamplePoints = {{1700000000000, 0.5},
                                           {1700000001000, 0.5},
                                           {1700000002000, 1.5},
                                           {1700000003004, 1.5},
                                           {1700000004000, 3.0}};
const std::vector<uint8_t> kExampleBytes = {
    0x01, 0x00, 0x05,                                // version 1, 5 samples
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,  // t0
    0x3f, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // v0 = 0.5
    0xe3, 0xe8, 0x35, 0x85, 0xc8, 0xa3, 0x09, 0x7f, 0xfc};

std::vector<uint8_t> Encode(const std::vector<Point>& points) {
  ChunkEncoder e;
  for (const Point& p : points) EXPECT_TRUE(e.Append(p.t_ms, p.v).ok()) << p.t_ms;
  return std::vector<uint8_t>(e.bytes().begin(), e.bytes().end());
}

std::vector<Point> Decode(const std::vector<uint8_t>& bytes) {
  std::vector<Point> out;
  Status st = DecodeChunk(bytes, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

// Compares bit patterns so NaN and -0.0 are checked exactly.
void ExpectSameBits(const std::vector<Point>& want, const std::vector<Point>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i].t_ms, got[i].t_ms) << i;
    EXPECT_EQ(std::bit_cast<uint64_t>(want[i].v), std::bit_cast<uint64_t>(got[i].v)) << i;
  }
}

TEST(ChunkEncoder, EncodesWorkedExampleByteForByte) {
  EXPECT_EQ(Encode(kExamplePoints), kExampleBytes);
}

TEST(ChunkDecoder, DecodesFrozenBytes) { ExpectSameBits(kExamplePoints, Decode(kExampleBytes)); }

TEST(ChunkEncoder, EncodesFrozenWideValuesAndTimestampBuckets) {
  // Exercises the 20-bit and 64-bit timestamp buckets and a reused XOR window.
  const std::vector<Point> points = {
      {0, 1.0}, {10, 2.0}, {200000, 3.0}, {1LL << 40, 4.0}, {(1LL << 40) + 1, 5.0}};
  const std::vector<uint8_t> frozen = {0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                       0x00, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc2,
                                       0xb0, 0x97, 0xff, 0xfc, 0x61, 0xa5, 0x9b, 0x01, 0xfc, 0x00,
                                       0x00, 0x03, 0xff, 0xff, 0xe7, 0x96, 0x2b, 0x58, 0x5f, 0xff,
                                       0xff, 0xff, 0xc0, 0x00, 0x00, 0xc3, 0x50, 0x76, 0x83};
  EXPECT_EQ(Encode(points), frozen);
  ExpectSameBits(points, Decode(frozen));
}

TEST(ChunkEncoder, RegularSecondTimestampsCostOneBitEach) {
  ChunkEncoder e;
  for (int i = 0; i < 120; ++i) ASSERT_TRUE(e.Append(1700000000000 + i * 1000LL, 42.0).ok());
  // 3 header bytes + 16 for the first sample, then 17 bits for sample 1 ('1110' + 12-bit
  // delta 1000, '0' value) and 2 bits (dod '0', value '0') for each of the other 118:
  // 253 bits = 32 bytes.
  EXPECT_EQ(e.bytes().size(), 3u + 16u + 32u);
}

TEST(ChunkEncoder, RoundTripsSpecialValues) {
  const double kInf = std::numeric_limits<double>::infinity();
  const std::vector<Point> points = {
      {1, 0.0},
      {2, -0.0},
      {3, std::numeric_limits<double>::quiet_NaN()},
      {4, -std::numeric_limits<double>::quiet_NaN()},
      {5, kInf},
      {6, -kInf},
      {7, std::numeric_limits<double>::max()},
      {8, std::numeric_limits<double>::lowest()},
      {9, std::numeric_limits<double>::denorm_min()},
      {10, std::numeric_limits<double>::min()},
      {11, 1e-300},
      {12, 1e300},
      {13, std::bit_cast<double>(uint64_t{0x7ff0000000000001})},  // signalling NaN payload
      {14, 0.1},
      {15, 0.1},
  };
  ExpectSameBits(points, Decode(Encode(points)));
}

TEST(ChunkEncoder, RoundTripsCounterReset) {
  const std::vector<Point> points = {{1000, 1e12}, {2000, 1e12 + 512}, {3000, 3},
                                     {4000, 7},    {5000, 7},          {6000, 1e15}};
  ExpectSameBits(points, Decode(Encode(points)));
}

TEST(ChunkEncoder, RoundTripsIrregularTimestampsAndLargeGaps) {
  const std::vector<Point> points = {
      {std::numeric_limits<int64_t>::min(), 1},
      {-5, 2},
      {0, 3},
      {1, 4},
      {1003, 5},
      {1004, 6},
      {86400000LL * 365 * 100, 7},
      {std::numeric_limits<int64_t>::max() - 1, 8},
      {std::numeric_limits<int64_t>::max(), 9},
  };
  // The first step does not fit in int64: rejected, everything else fits.
  ChunkEncoder e;
  ASSERT_TRUE(e.Append(points[0].t_ms, points[0].v).ok());
  EXPECT_EQ(e.Append(std::numeric_limits<int64_t>::max(), 0).code(), StatusCode::kInvalidArgument);
  std::vector<Point> rest(points.begin() + 1, points.end());
  ExpectSameBits(rest, Decode(Encode(rest)));
}

TEST(ChunkEncoder, RoundTripsRandomWalk) {
  std::mt19937_64 rng(7);
  std::vector<Point> points;
  int64_t t = 1700000000000;
  double v = 100;
  for (int i = 0; i < 5000; ++i) {
    t += 1 + static_cast<int64_t>(rng() % 3000);
    v += static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000) / 7.0;
    points.push_back({t, v});
  }
  ExpectSameBits(points, Decode(Encode(points)));
}

TEST(ChunkEncoder, RejectsNonIncreasingTimestamps) {
  ChunkEncoder e;
  ASSERT_TRUE(e.Append(1000, 1).ok());
  EXPECT_EQ(e.Append(1000, 2).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e.Append(999, 2).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e.count(), 1u);
  ASSERT_TRUE(e.Append(1001, 2).ok());
  ExpectSameBits({{1000, 1}, {1001, 2}}, Decode({e.bytes().begin(), e.bytes().end()}));
}

TEST(ChunkEncoder, HeadBytesDecodeAfterEveryAppendAndTakeResets) {
  ChunkEncoder e;
  std::vector<Point> want;
  for (int i = 0; i < 50; ++i) {
    want.push_back({i * 1000LL + (i % 3), i * 0.25});
    ASSERT_TRUE(e.Append(want.back().t_ms, want.back().v).ok());
    ExpectSameBits(want, Decode({e.bytes().begin(), e.bytes().end()}));
  }
  EXPECT_EQ(e.min_t(), 0);
  EXPECT_EQ(e.max_t(), 49000 + 1);
  std::vector<uint8_t> taken = e.TakeBytes();
  ExpectSameBits(want, Decode(taken));
  EXPECT_TRUE(e.empty());
  EXPECT_EQ(Decode({e.bytes().begin(), e.bytes().end()}).size(), 0u);
}

TEST(ChunkEncoder, RefusesMoreThanMaxSamples) {
  ChunkEncoder e;
  for (uint32_t i = 0; i < kChunkMaxSamples; ++i) ASSERT_TRUE(e.Append(i, 0).ok());
  EXPECT_EQ(e.Append(kChunkMaxSamples, 0).code(), StatusCode::kResourceExhausted);
  std::vector<Point> out;
  ASSERT_TRUE(DecodeChunk(e.bytes(), &out).ok());
  EXPECT_EQ(out.size(), kChunkMaxSamples);
}

TEST(ChunkDecoder, FailsCleanlyOnEveryTruncation) {
  for (size_t n = 0; n < kExampleBytes.size(); ++n) {
    std::vector<uint8_t> cut(kExampleBytes.begin(), kExampleBytes.begin() + n);
    std::vector<Point> out = {{1, 1}};
    Status st = DecodeChunk(cut, &out);
    EXPECT_EQ(st.code(), StatusCode::kParseError) << "length " << n;
    EXPECT_EQ(out.size(), 1u) << "output untouched on error";
  }
}

TEST(ChunkDecoder, RejectsBadHeaderAndTrailingBytes) {
  std::vector<Point> out;
  std::vector<uint8_t> bad = kExampleBytes;
  bad[0] = 2;
  EXPECT_EQ(DecodeChunk(bad, &out).code(), StatusCode::kParseError);
  bad = kExampleBytes;
  bad.push_back(0);
  EXPECT_EQ(DecodeChunk(bad, &out).code(), StatusCode::kParseError);
  bad = kExampleBytes;
  bad.back() |= 0x01;  // padding bit set
  EXPECT_EQ(DecodeChunk(bad, &out).code(), StatusCode::kParseError);
  bad = {0x01, 0x00, 0x00, 0x00};  // empty chunk with a body
  EXPECT_EQ(DecodeChunk(bad, &out).code(), StatusCode::kParseError);
  bad = kExampleBytes;
  bad[2] = 0xff;  // claims more samples than present
  EXPECT_EQ(DecodeChunk(bad, &out).code(), StatusCode::kParseError);
  EXPECT_TRUE(out.empty());
}

TEST(ChunkDecoder, RejectsZeroTimestampStep) {
  // dod = -1000 after a delta of 1000 gives a step of 0: '1110' + 12-bit -1000.
  ChunkEncoder e;
  ASSERT_TRUE(e.Append(0, 1).ok());
  ASSERT_TRUE(e.Append(1000, 1).ok());
  std::vector<uint8_t> bytes(e.bytes().begin(), e.bytes().end());
  // Rebuild the stream after the 3 + 16 header bytes: sample 1 as the encoder writes it, then
  // a third sample with control 1110, dod -1000 (0xc18 in 12 bits), value '0'.
  std::vector<bool> bits;
  auto push = [&](uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) bits.push_back((v >> i) & 1);
  };
  push(0b1110, 4), push(1000, 12), push(0, 1);
  push(0b1110, 4), push(static_cast<uint64_t>(-1000) & 0xfff, 12), push(0, 1);
  std::vector<uint8_t> crafted(bytes.begin(), bytes.begin() + 19);
  crafted[2] = 3;
  for (size_t i = 0; i < bits.size(); ++i) {
    if (i % 8 == 0) crafted.push_back(0);
    if (bits[i]) crafted.back() |= static_cast<uint8_t>(0x80 >> (i % 8));
  }
  std::vector<Point> out;
  Status st = DecodeChunk(crafted, &out);
  EXPECT_EQ(st.code(), StatusCode::kParseError);
  EXPECT_NE(st.message().find("not increasing"), std::string::npos) << st.message();
}

TEST(ChunkDecoder, SurvivesRandomCorruption) {
  std::mt19937 rng(1234);
  std::vector<Point> points;
  for (int i = 0; i < 120; ++i) points.push_back({1000LL * i + (i % 5), std::sin(i) * 100});
  const std::vector<uint8_t> good = Encode(points);
  int failures = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> bad = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f)
      bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 << (rng() % 8));
    if (rng() % 4 == 0) bad.resize(rng() % bad.size());
    std::vector<Point> out;
    if (!DecodeChunk(bad, &out).ok()) {
      ++failures;
      EXPECT_TRUE(out.empty());
    } else {
      for (size_t i = 1; i < out.size(); ++i) ASSERT_GT(out[i].t_ms, out[i - 1].t_ms);
    }
  }
  EXPECT_GT(failures, 0);
}

}  // namespace
}  // namespace echomon::store
