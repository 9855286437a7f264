// Audit records: one per routing decision, saying where the call went and why, with detector
// findings as type and offsets only. The task store persists them through an AuditSink.
#pragma once

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tandem/router/detectors.h"

namespace tandem::router {

struct AuditRecord {
  int64_t time_unix_ms = 0;
  std::string task_id;
  std::string route;                   // "local", "cloud" or "deny".
  std::string provider;                // The provider that answered (or was chosen); may be "".
  std::vector<std::string> attempted;  // Providers tried in order, including failed ones.
  std::vector<Finding> findings;       // Types and offsets; never the values.
  std::vector<std::string> rules;
  std::string reason;
  bool masked = false;
  bool strong = false;
  std::vector<std::string> escalation_reasons;
  // "ok", "refused", "unavailable" (fail closed), or "error:<code>" of the provider's error.
  // Provider error messages are not kept: they may echo the prompt.
  std::string outcome;
  int64_t latency_ms = 0;
  uint64_t payload_fingerprint = 0;  // FNV-1a of the payload, to correlate without content.
};

nlohmann::json AuditRecordToJson(const AuditRecord& record);

// Receives every record. Implementations must be thread-safe; Record must not throw.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void Record(const AuditRecord& record) = 0;
};

// Keeps records in memory (tests, `route explain`). Thread-safe.
class MemoryAuditSink final : public AuditSink {
 public:
  void Record(const AuditRecord& record) override;
  std::vector<AuditRecord> records() const;

 private:
  mutable std::mutex mu_;
  std::vector<AuditRecord> records_;  // GUARDED_BY(mu_)
};

}  // namespace tandem::router
