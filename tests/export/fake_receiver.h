// FakeReceiver: a remote-write endpoint on loopback for tests (a real HTTP server decoding
// real request bodies), answering with scripted statuses.
#pragma once

#include <httplib.h>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "export/remote_write_codec.h"

namespace echomon::remote_write {

// A remote-write receiver on loopback that answers with scripted statuses (then 200) and
// records every request it got, decoded.
class FakeReceiver {
 public:
  struct Request {
    int answered = 0;
    httplib::Headers headers;
    std::vector<WriteSeries> series;
    std::string decode_error;
  };

  explicit FakeReceiver(int port = 0) {
    server_.Post("/api/v1/write", [this](const httplib::Request& req, httplib::Response& res) {
      Request r;
      r.headers = req.headers;
      auto decoded = DecodeWriteRequest(req.body);
      if (decoded.ok()) {
        r.series = std::move(decoded).value();
      } else {
        r.decode_error = decoded.status().ToString();
      }
      std::lock_guard<std::mutex> lock(mu_);
      r.answered = 200;
      if (!script_.empty()) {
        r.answered = script_.front();
        script_.pop_front();
      }
      res.status = r.answered;
      if (r.answered != 200) res.set_content("scripted failure", "text/plain");
      requests_.push_back(std::move(r));
    });
    if (port == 0) {
      port_ = server_.bind_to_any_port("127.0.0.1");
    } else {
      port_ = server_.bind_to_port("127.0.0.1", port) ? port : -1;
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~FakeReceiver() {
    server_.stop();
    thread_.join();
  }

  void Script(std::initializer_list<int> statuses) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.insert(script_.end(), statuses);
  }
  std::vector<Request> Requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/api/v1/write"; }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  mutable std::mutex mu_;
  std::deque<int> script_;
  std::vector<Request> requests_;
};

// Every (series name, t, value) the receiver accepted, in arrival order per series.
inline std::map<std::string, std::vector<WriteSample>> Accepted(
    const std::vector<FakeReceiver::Request>& requests) {
  std::map<std::string, std::vector<WriteSample>> out;
  for (const auto& r : requests) {
    if (r.answered != 200) continue;
    for (const auto& s : r.series) {
      auto& v = out[*s.labels.Get("__name__")];
      v.insert(v.end(), s.samples.begin(), s.samples.end());
    }
  }
  return out;
}

}  // namespace echomon::remote_write
