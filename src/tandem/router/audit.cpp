#include "tandem/router/audit.h"

#include <fmt/format.h>

namespace tandem::router {

nlohmann::json AuditRecordToJson(const AuditRecord& record) {
  nlohmann::json findings = nlohmann::json::array();
  for (const Finding& f : record.findings) {
    findings.push_back(
        {{"type", EntityTypeName(f.type)}, {"start", f.start}, {"end", f.end}, {"part", f.part}});
  }
  return {{"time_unix_ms", record.time_unix_ms},
          {"task_id", record.task_id},
          {"route", record.route},
          {"provider", record.provider},
          {"attempted", record.attempted},
          {"findings", std::move(findings)},
          {"rules", record.rules},
          {"reason", record.reason},
          {"masked", record.masked},
          {"strong", record.strong},
          {"escalation_reasons", record.escalation_reasons},
          {"outcome", record.outcome},
          {"latency_ms", record.latency_ms},
          {"payload_fingerprint", fmt::format("{:016x}", record.payload_fingerprint)}};
}

void MemoryAuditSink::Record(const AuditRecord& record) {
  std::lock_guard lock(mu_);
  records_.push_back(record);
}

std::vector<AuditRecord> MemoryAuditSink::records() const {
  std::lock_guard lock(mu_);
  return records_;
}

}  // namespace tandem::router
