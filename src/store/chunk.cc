#include "store/chunk.h"

#include <bit>
#include <cstring>
#include <limits>

namespace echomon::store {
namespace {

constexpr uint64_t kInt64Max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// True when the two's complement value v fits in a signed field of nbits.
bool FitsSigned(int64_t v, int nbits) {
  const int64_t lo = -(int64_t{1} << (nbits - 1));
  const int64_t hi = (int64_t{1} << (nbits - 1)) - 1;
  return v >= lo && v <= hi;
}

uint64_t Mask(int nbits) { return nbits == 64 ? ~uint64_t{0} : (uint64_t{1} << nbits) - 1; }

int64_t SignExtend(uint64_t v, int nbits) {
  if (nbits == 64) return static_cast<int64_t>(v);
  const uint64_t sign = uint64_t{1} << (nbits - 1);
  return static_cast<int64_t>((v ^ sign) - sign);
}

}  // namespace

ChunkEncoder::ChunkEncoder() { Reset(); }

void ChunkEncoder::Reset() {
  buf_.clear();
  buf_.push_back(kChunkFormatVersion);
  buf_.push_back(0);
  buf_.push_back(0);
  free_bits_ = 0;
  count_ = 0;
  min_t_ = 0;
  prev_t_ = 0;
  prev_delta_ = 0;
  prev_v_bits_ = 0;
  leading_ = -1;
  trailing_ = 0;
}

std::vector<uint8_t> ChunkEncoder::TakeBytes() {
  std::vector<uint8_t> out = std::move(buf_);
  buf_ = {};
  Reset();
  return out;
}

double ChunkEncoder::last_value() const { return std::bit_cast<double>(prev_v_bits_); }

void ChunkEncoder::WriteBits(uint64_t value, int nbits) {
  value &= Mask(nbits);
  while (nbits > 0) {
    if (free_bits_ == 0) {
      buf_.push_back(0);
      free_bits_ = 8;
    }
    const int take = nbits < free_bits_ ? nbits : free_bits_;
    const uint64_t part = (value >> (nbits - take)) & Mask(take);
    buf_.back() |= static_cast<uint8_t>(part << (free_bits_ - take));
    free_bits_ -= take;
    nbits -= take;
  }
}

Status ChunkEncoder::Append(int64_t t_ms, double value) {
  if (count_ >= kChunkMaxSamples) return Status::ResourceExhausted("chunk is full");
  const uint64_t v_bits = std::bit_cast<uint64_t>(value);
  if (count_ == 0) {
    WriteBits(static_cast<uint64_t>(t_ms), 64);
    WriteBits(v_bits, 64);
    min_t_ = t_ms;
  } else {
    if (t_ms <= prev_t_) {
      return Status::InvalidArgument("timestamp " + std::to_string(t_ms) +
                                     " is not after the previous one " + std::to_string(prev_t_));
    }
    const uint64_t delta = static_cast<uint64_t>(t_ms) - static_cast<uint64_t>(prev_t_);
    if (delta > kInt64Max) return Status::InvalidArgument("timestamp step does not fit in int64");
    // Timestamp: delta of delta, modulo 2^64 (the decoder adds it back the same way).
    const int64_t dod = static_cast<int64_t>(delta - prev_delta_);
    if (dod == 0) {
      WriteBits(0b0, 1);
    } else if (FitsSigned(dod, 4)) {
      WriteBits(0b10, 2);
      WriteBits(static_cast<uint64_t>(dod), 4);
    } else if (FitsSigned(dod, 7)) {
      WriteBits(0b110, 3);
      WriteBits(static_cast<uint64_t>(dod), 7);
    } else if (FitsSigned(dod, 12)) {
      WriteBits(0b1110, 4);
      WriteBits(static_cast<uint64_t>(dod), 12);
    } else if (FitsSigned(dod, 20)) {
      WriteBits(0b11110, 5);
      WriteBits(static_cast<uint64_t>(dod), 20);
    } else {
      WriteBits(0b11111, 5);
      WriteBits(static_cast<uint64_t>(dod), 64);
    }
    prev_delta_ = delta;
    // Value: XOR with the previous value.
    const uint64_t x = v_bits ^ prev_v_bits_;
    if (x == 0) {
      WriteBits(0b0, 1);
    } else {
      int leading = std::countl_zero(x);
      const int trailing = std::countr_zero(x);
      if (leading > 31) leading = 31;
      if (leading_ >= 0 && leading >= leading_ && trailing >= trailing_) {
        WriteBits(0b10, 2);
        WriteBits(x >> trailing_, 64 - leading_ - trailing_);
      } else {
        const int meaningful = 64 - leading - trailing;
        WriteBits(0b11, 2);
        WriteBits(static_cast<uint64_t>(leading), 5);
        WriteBits(static_cast<uint64_t>(meaningful & 63), 6);  // 64 is written as 0
        WriteBits(x >> trailing, meaningful);
        leading_ = leading;
        trailing_ = trailing;
      }
    }
  }
  prev_t_ = t_ms;
  prev_v_bits_ = v_bits;
  ++count_;
  buf_[1] = static_cast<uint8_t>(count_ >> 8);
  buf_[2] = static_cast<uint8_t>(count_ & 0xff);
  return Status::Ok();
}

ChunkDecoder::ChunkDecoder(std::span<const uint8_t> data) : data_(data) {
  if (data_.size() < kChunkHeaderBytes) {
    Fail("truncated header");
    return;
  }
  if (data_[0] != kChunkFormatVersion) {
    Fail("unknown format version");
    return;
  }
  count_ = (uint32_t{data_[1]} << 8) | data_[2];
  bit_pos_ = kChunkHeaderBytes * 8;
  bit_end_ = data_.size() * 8;
  if (count_ == 0 && data_.size() != kChunkHeaderBytes) Fail("empty chunk with a body");
}

double ChunkDecoder::value() const { return std::bit_cast<double>(v_bits_); }

bool ChunkDecoder::Fail(const char* what) {
  if (!failed_) {
    failed_ = true;
    status_ = Status::ParseError(std::string("corrupt chunk: ") + what + " (sample " +
                                 std::to_string(read_) + " of " + std::to_string(count_) + ")");
  }
  return false;
}

bool ChunkDecoder::ReadBits(int nbits, uint64_t* out) {
  if (bit_end_ - bit_pos_ < static_cast<size_t>(nbits)) return Fail("truncated bit stream");
  uint64_t v = 0;
  while (nbits > 0) {
    const size_t byte = bit_pos_ >> 3;
    const int avail = 8 - static_cast<int>(bit_pos_ & 7);
    const int take = nbits < avail ? nbits : avail;
    const uint64_t bits = (uint64_t{data_[byte]} >> (avail - take)) & Mask(take);
    v = (take == 64 ? 0 : v << take) | bits;
    bit_pos_ += static_cast<size_t>(take);
    nbits -= take;
  }
  *out = v;
  return true;
}

bool ChunkDecoder::Next() {
  if (failed_ || read_ >= count_) return false;
  uint64_t bits = 0;
  if (read_ == 0) {
    if (!ReadBits(64, &bits)) return false;
    t_ = static_cast<int64_t>(bits);
    if (!ReadBits(64, &v_bits_)) return false;
  } else {
    // Timestamp control: up to five bits, stopping at the first 0.
    int ones = 0;
    while (ones < 5) {
      if (!ReadBits(1, &bits)) return false;
      if (bits == 0) break;
      ++ones;
    }
    static constexpr int kDodBits[] = {0, 4, 7, 12, 20, 64};
    uint64_t dod = 0;
    if (ones > 0) {
      if (!ReadBits(kDodBits[ones], &bits)) return false;
      dod = static_cast<uint64_t>(SignExtend(bits, kDodBits[ones]));
    }
    const uint64_t delta = delta_ + dod;
    if (delta == 0 || delta > kInt64Max) return Fail("timestamp not increasing");
    int64_t t = 0;
    if (__builtin_add_overflow(t_, static_cast<int64_t>(delta), &t)) {
      return Fail("timestamp overflow");
    }
    t_ = t;
    delta_ = delta;
    // Value control: 0, 10 or 11.
    if (!ReadBits(1, &bits)) return false;
    if (bits == 1) {
      if (!ReadBits(1, &bits)) return false;
      if (bits == 1) {
        uint64_t leading = 0;
        uint64_t meaningful = 0;
        if (!ReadBits(5, &leading) || !ReadBits(6, &meaningful)) return false;
        if (meaningful == 0) meaningful = 64;
        if (leading + meaningful > 64) return Fail("xor window exceeds 64 bits");
        leading_ = static_cast<int>(leading);
        trailing_ = static_cast<int>(64 - leading - meaningful);
      } else if (leading_ < 0) {
        return Fail("xor window reused before being set");
      }
      const int width = 64 - leading_ - trailing_;
      uint64_t x = 0;
      if (!ReadBits(width, &x)) return false;
      v_bits_ ^= (trailing_ == 64 ? 0 : x << trailing_);
    }
  }
  ++read_;
  if (read_ == count_) {
    // The rest must be zero padding inside the last byte.
    if (bit_end_ - bit_pos_ >= 8) return Fail("trailing bytes after the last sample");
    uint64_t pad = 0;
    const int pad_bits = static_cast<int>(bit_end_ - bit_pos_);
    if (pad_bits > 0 && (!ReadBits(pad_bits, &pad) || pad != 0)) {
      return Fail("non-zero padding");
    }
  }
  return true;
}

Status DecodeChunk(std::span<const uint8_t> data, std::vector<Point>* out) {
  ChunkDecoder d(data);
  const size_t old_size = out->size();
  out->reserve(old_size + d.count());
  while (d.Next()) out->push_back(Point{d.t_ms(), d.value()});
  if (!d.status().ok()) {
    out->resize(old_size);
    return d.status();
  }
  return Status::Ok();
}

}  // namespace echomon::store
