#include "export/remote_write_codec.h"

#include <snappy.h>

#include "export/remote_write.pb.h"

namespace echomon::remote_write {

std::string SerializeWriteRequest(const std::vector<WriteSeriesView>& series) {
  prompb::WriteRequest request;
  request.mutable_timeseries()->Reserve(static_cast<int>(series.size()));
  for (const WriteSeriesView& s : series) {
    prompb::TimeSeries* ts = request.add_timeseries();
    ts->mutable_labels()->Reserve(static_cast<int>(s.labels->size()));
    for (const core::Label& l : s.labels->items()) {
      prompb::Label* label = ts->add_labels();
      label->set_name(l.name);
      label->set_value(l.value);
    }
    ts->mutable_samples()->Reserve(static_cast<int>(s.count));
    for (size_t i = 0; i < s.count; ++i) {
      prompb::Sample* sample = ts->add_samples();
      sample->set_value(s.samples[i].value);
      sample->set_timestamp(s.samples[i].t_ms);
    }
  }
  return request.SerializeAsString();
}

std::string SerializeWriteRequest(const std::vector<WriteSeries>& series) {
  std::vector<WriteSeriesView> views;
  views.reserve(series.size());
  for (const WriteSeries& s : series) {
    views.push_back({&s.labels, s.samples.data(), s.samples.size()});
  }
  return SerializeWriteRequest(views);
}

std::string SnappyCompress(std::string_view raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

Result<std::string> SnappyDecompress(std::string_view compressed, size_t max_bytes) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(compressed.data(), compressed.size(), &length)) {
    return Status::ParseError("not a snappy block (bad length header)");
  }
  if (length > max_bytes) {
    return Status::ParseError("snappy block expands to " + std::to_string(length) +
                              " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  std::string out;
  if (!snappy::Uncompress(compressed.data(), compressed.size(), &out)) {
    return Status::ParseError("corrupt snappy block");
  }
  return out;
}

std::string EncodeWriteRequest(const std::vector<WriteSeries>& series) {
  return SnappyCompress(SerializeWriteRequest(series));
}

std::string EncodeWriteRequest(const std::vector<WriteSeriesView>& series) {
  return SnappyCompress(SerializeWriteRequest(series));
}

Result<std::vector<WriteSeries>> DecodeWriteRequest(std::string_view body) {
  auto raw = SnappyDecompress(body);
  if (!raw.ok()) return raw.status();
  prompb::WriteRequest request;
  if (!request.ParseFromString(*raw)) {
    return Status::ParseError("snappy block is not a prometheus.WriteRequest protobuf");
  }
  std::vector<WriteSeries> out;
  out.reserve(static_cast<size_t>(request.timeseries_size()));
  for (int i = 0; i < request.timeseries_size(); ++i) {
    const prompb::TimeSeries& ts = request.timeseries(i);
    const std::string where = "series " + std::to_string(i) + ": ";
    WriteSeries s;
    const std::string* previous = nullptr;
    for (const prompb::Label& l : ts.labels()) {
      if (previous != nullptr && !(*previous < l.name())) {
        return Status::ParseError(where + "labels not sorted by name or repeated at '" + l.name() +
                                  "'");
      }
      previous = &l.name();
      s.labels.Set(l.name(), l.value());
    }
    if (s.labels.Get("__name__") == nullptr) {
      return Status::ParseError(where + "no __name__ label");
    }
    for (const prompb::Sample& p : ts.samples()) {
      if (!s.samples.empty() && p.timestamp() <= s.samples.back().t_ms) {
        return Status::ParseError(where + "samples not in timestamp order");
      }
      s.samples.push_back({p.timestamp(), p.value()});
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace echomon::remote_write
