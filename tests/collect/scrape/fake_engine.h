// A loopback HTTP server standing in for an inference engine's /metrics endpoint, and helpers
// that rewrite sample values in captured exposition text.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace echomon::testing {

// Serves body() at /metrics on 127.0.0.1 with a chosen status and Content-Type.
class FakeEngine {
 public:
  FakeEngine() {
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      res.status = status_;
      res.set_content(body_, content_type_.c_str());
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeEngine() {
    server_.stop();
    thread_.join();
  }
  FakeEngine(const FakeEngine&) = delete;
  FakeEngine& operator=(const FakeEngine&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/metrics"; }
  void Set(std::string body, int status = 200,
           std::string content_type = "text/plain; version=0.0.4; charset=utf-8") {
    std::lock_guard<std::mutex> lock(mu_);
    body_ = std::move(body);
    status_ = status;
    content_type_ = std::move(content_type);
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::string body_;
  int status_ = 200;
  std::string content_type_ = "text/plain; version=0.0.4; charset=utf-8";
};

// Finds the value of the sample line that starts with series (name and labels exactly as
// written, e.g. `vllm:x_total{model_name="m"}`); fails the test when there is no such line.
inline bool FindValue(const std::string& text, const std::string& series, size_t* start,
                      size_t* end) {
  size_t pos = text.find("\n" + series + " ");
  if (pos == std::string::npos) {
    ADD_FAILURE() << "no line " << series;
    return false;
  }
  *start = pos + 1 + series.size() + 1;
  *end = text.find_first_of(" \n", *start);
  return true;
}

inline void SetValue(std::string* text, const std::string& series, double value) {
  size_t start = 0, end = 0;
  if (!FindValue(*text, series, &start, &end)) return;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  text->replace(start, end - start, buf);
}

// Adds delta to the value of the sample line that starts with series.
inline void Bump(std::string* text, const std::string& series, double delta) {
  size_t start = 0, end = 0;
  if (!FindValue(*text, series, &start, &end)) return;
  SetValue(text, series, std::stod(text->substr(start, end - start)) + delta);
}

}  // namespace echomon::testing
