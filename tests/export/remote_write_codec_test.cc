#include "export/remote_write_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace echomon::remote_write {
namespace {

std::string Hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

core::Labels WithName(const std::string& name, core::Labels labels) {
  labels.Set("__name__", name);
  return labels;
}

// Freezes the wire format: one series up{} with the sample (1000 ms, 1.0), field by field as
// prompb encodes it (see docs/remote-write.md).
TEST(RemoteWriteCodec, SerialisesTheFrozenPrompbBytes) {
  std::vector<WriteSeries> series{{WithName("up", {}), {{1000, 1.0}}}};
  EXPECT_EQ(Hex(SerializeWriteRequest(series)),
            "0a1e"  // WriteRequest.timeseries, 30 bytes
            "0a0e"  // TimeSeries.labels, 14 bytes
            "0a085f5f6e616d655f5f"
            "12027570"  // name "__name__", value "up"
            "120c"      // TimeSeries.samples, 12 bytes
            "09000000000000f03f"
            "10e807");  // value 1.0 (fixed64), timestamp 1000
}

TEST(RemoteWriteCodec, BodyIsASnappyBlockOfTheSerialisedRequest) {
  std::vector<WriteSeries> series{{WithName("up", {{"job", "node"}}), {{1000, 1.0}}}};
  const std::string raw = SerializeWriteRequest(series);
  const std::string body = EncodeWriteRequest(series);
  // The block format starts with the uncompressed length as a varint; the framed format
  // would start with the stream identifier chunk 0xff 06 00 00 "sNaPpY".
  ASSERT_FALSE(body.empty());
  EXPECT_NE(static_cast<unsigned char>(body[0]), 0xff);
  ASSERT_LT(raw.size(), 128u);
  EXPECT_EQ(static_cast<unsigned char>(body[0]), raw.size());
  auto back = SnappyDecompress(body);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, raw);
}

TEST(RemoteWriteCodec, RoundTripsLabelsSamplesAndTheirOrder) {
  std::vector<WriteSeries> series;
  series.push_back(
      {WithName("node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "idle"}, {"Zone", "a\"b\n"}}),
       {{1000, 1.5}, {2000, 2.5}, {3000, -0.0}}});
  series.push_back({WithName("weird", {}),
                    {{-5, std::numeric_limits<double>::infinity()},
                     {7, std::numeric_limits<double>::quiet_NaN()},
                     {8, 1e-300}}});
  auto decoded = DecodeWriteRequest(EncodeWriteRequest(series));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ((*decoded)[0].labels, series[0].labels);
  // Sorted by byte order: "Zone" < "__name__" < "cpu" < "mode".
  const auto& items = (*decoded)[0].labels.items();
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].name, "Zone");
  EXPECT_EQ(items[1].name, "__name__");
  EXPECT_EQ(items[3].name, "mode");
  EXPECT_EQ((*decoded)[0].samples, series[0].samples);
  EXPECT_TRUE(std::signbit((*decoded)[0].samples[2].value));
  const auto& weird = (*decoded)[1].samples;
  ASSERT_EQ(weird.size(), 3u);
  EXPECT_EQ(weird[0].t_ms, -5);
  EXPECT_TRUE(std::isinf(weird[0].value));
  EXPECT_TRUE(std::isnan(weird[1].value));
  EXPECT_EQ(weird[2].value, 1e-300);
}

TEST(RemoteWriteCodec, DecodeNamesWhatIsWrong) {
  auto not_snappy = DecodeWriteRequest(std::string("\xff\xff\xff\xff\xff\xff", 6));
  ASSERT_FALSE(not_snappy.ok());
  EXPECT_NE(not_snappy.status().message().find("snappy"), std::string::npos);

  auto not_proto = DecodeWriteRequest(SnappyCompress("\x0a\x05garbage-that-is-not-proto"));
  ASSERT_FALSE(not_proto.ok());
  EXPECT_NE(not_proto.status().message().find("WriteRequest"), std::string::npos);

  std::vector<WriteSeries> nameless{{core::Labels{{"job", "x"}}, {{1, 1}}}};
  auto no_name = DecodeWriteRequest(EncodeWriteRequest(nameless));
  ASSERT_FALSE(no_name.ok());
  EXPECT_NE(no_name.status().message().find("__name__"), std::string::npos);

  std::vector<WriteSeries> backwards{{WithName("x", {}), {{2, 1}, {1, 1}}}};
  auto out_of_order = DecodeWriteRequest(EncodeWriteRequest(backwards));
  ASSERT_FALSE(out_of_order.ok());
  EXPECT_NE(out_of_order.status().message().find("order"), std::string::npos);
}

TEST(RemoteWriteCodec, DecompressRefusesBlocksThatExpandBeyondTheLimit) {
  const std::string big(1 << 20, 'a');
  auto r = SnappyDecompress(SnappyCompress(big), /*max_bytes=*/1000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("limit"), std::string::npos);
}

}  // namespace
}  // namespace echomon::remote_write
