#include "tandem/server/metrics.h"

#include <fmt/format.h>

#include <tuple>

namespace tandem::server {
namespace {

// `name{a="x",b="y"} value` for each count; `names` are the label names in order.
void AppendCounts(std::string& out, std::string_view metric, std::string_view help,
                  std::string_view type, std::initializer_list<std::string_view> names,
                  const std::vector<store::StoreTotals::Count>& counts, bool use_sum = false) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", metric, help, metric,
                 type);
  for (const store::StoreTotals::Count& count : counts) {
    std::string labels;
    size_t i = 0;
    for (std::string_view name : names) {
      if (i >= count.labels.size()) break;
      if (!labels.empty()) labels += ',';
      labels += fmt::format("{}=\"{}\"", name, EscapeLabel(count.labels[i++]));
    }
    if (use_sum) {
      fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", metric, labels, count.sum);
    } else {
      fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", metric, labels, count.count);
    }
  }
}

}  // namespace

std::string EscapeLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Metrics::ObserveRequest(const std::string& method, const std::string& route, int status,
                             double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{method, route, status}];
  Histogram& h = latency_[route];
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::CountLogin(bool ok) {
  std::lock_guard lock(mu_);
  ++(ok ? logins_ok_ : logins_failed_);
}

void Metrics::SetTasksRunning(int running, int queued) {
  std::lock_guard lock(mu_);
  running_ = running;
  queued_ = queued;
}

std::string Metrics::Render(const store::StoreTotals& totals) const {
  std::string out;
  AppendCounts(out, "tandem_tasks", "Tasks by status.", "gauge", {"status"},
               totals.tasks_by_status);
  AppendCounts(out, "tandem_steps", "Agent steps by status.", "gauge", {"status"},
               totals.steps_by_status);
  AppendCounts(out, "tandem_model_calls_total", "Model calls by zone, provider and outcome.",
               "counter", {"zone", "provider", "outcome"}, totals.model_calls);
  AppendCounts(out, "tandem_model_cost_usd_total", "Priced model call cost in USD.", "counter",
               {"zone", "provider", "outcome"}, totals.model_calls, /*use_sum=*/true);
  AppendCounts(out, "tandem_route_decisions_total", "Routing decisions by route and reason.",
               "counter", {"route", "reason"}, totals.route_decisions);
  std::lock_guard lock(mu_);
  out +=
      "# HELP tandem_server_tasks_running Tasks running in this server process.\n"
      "# TYPE tandem_server_tasks_running gauge\n";
  fmt::format_to(std::back_inserter(out), "tandem_server_tasks_running {}\n", running_);
  out +=
      "# HELP tandem_server_tasks_queued Tasks waiting for a worker.\n"
      "# TYPE tandem_server_tasks_queued gauge\n";
  fmt::format_to(std::back_inserter(out), "tandem_server_tasks_queued {}\n", queued_);
  out +=
      "# HELP tandem_logins_total Sign-in attempts by result.\n"
      "# TYPE tandem_logins_total counter\n";
  fmt::format_to(
      std::back_inserter(out),
      "tandem_logins_total{{result=\"ok\"}} {}\ntandem_logins_total{{result=\"failed\"}} "
      "{}\n",
      logins_ok_, logins_failed_);
  out +=
      "# HELP tandem_http_requests_total HTTP requests by method, route and status.\n"
      "# TYPE tandem_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [method, route, status] = key;
    fmt::format_to(std::back_inserter(out),
                   "tandem_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                   EscapeLabel(method), EscapeLabel(route), status, count);
  }
  out +=
      "# HELP tandem_http_request_duration_seconds HTTP request latency.\n"
      "# TYPE tandem_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    std::string label = EscapeLabel(route);
    for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      fmt::format_to(std::back_inserter(out),
                     "tandem_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                     label, kLatencyBuckets[i], h.buckets[i]);
    }
    fmt::format_to(std::back_inserter(out),
                   "tandem_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n"
                   "tandem_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n"
                   "tandem_http_request_duration_seconds_count{{route=\"{}\"}} {}\n",
                   label, h.count, label, h.sum, label, h.count);
  }
  return out;
}

}  // namespace tandem::server
