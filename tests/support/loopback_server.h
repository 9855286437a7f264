// A real HTTP server on 127.0.0.1 (ephemeral port) whose handlers each test registers, for
// client tests that need status codes, headers, delays, streams and broken bodies.
#pragma once

#include <httplib.h>

#include <string>
#include <thread>

namespace tandem::testing {

// Register handlers through server(), then call Start(). Stops in the destructor.
class LoopbackServer {
 public:
  LoopbackServer() = default;
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  httplib::Server& server() { return server_; }
  void Start();
  // "http://127.0.0.1:PORT".
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace tandem::testing
