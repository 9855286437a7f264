// In-process counters of the server (requests, latency, sign-ins) and the Prometheus text
// rendering that joins them with the store's totals (tasks, steps, model calls, routing).
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "tandem/store/records.h"

namespace tandem::server {

// Thread-safe: every counter is guarded by mu_.
class Metrics {
 public:
  // Upper bounds (seconds) of the request latency histogram buckets; +Inf is implicit.
  static constexpr std::array<double, 10> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1,
                                                             0.25,  0.5,  1,     2.5,  10};

  // `route` is the matched pattern ("/api/tasks/:id"), never the raw path (bounded labels).
  void ObserveRequest(const std::string& method, const std::string& route, int status,
                      double seconds);
  void CountLogin(bool ok);
  void SetTasksRunning(int running, int queued);

  // Prometheus text exposition format 0.0.4 of these counters and `totals`.
  std::string Render(const store::StoreTotals& totals) const;

 private:
  struct Histogram {
    std::array<int64_t, kLatencyBuckets.size()> buckets{};
    int64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, int64_t> requests_;  // GUARDED_BY(mu_)
  std::map<std::string, Histogram> latency_;                               // GUARDED_BY(mu_)
  int64_t logins_ok_ = 0;                                                  // GUARDED_BY(mu_)
  int64_t logins_failed_ = 0;                                              // GUARDED_BY(mu_)
  int running_ = 0;                                                        // GUARDED_BY(mu_)
  int queued_ = 0;                                                         // GUARDED_BY(mu_)
};

// Escapes a label value for the exposition format (backslash, quote, newline).
std::string EscapeLabel(std::string_view value);

}  // namespace tandem::server
