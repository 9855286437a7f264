// GET /api/tasks/{id}/routing: the router's decisions for one task's model calls, in order
// (route, provider, reason, rules, outcome, and the step each call was for), so the web UI can
// show why each step ran where it did. The full audit log stays admin-only; this is the visible
// task's own share of it.
#include "tandem/server/server_impl.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// A string field of a stored payload, "" when absent or of another type.
std::string StringField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

void Server::Impl::ShowTaskRouting(const httplib::Request& req, httplib::Response& res,
                                   const Principal& who) {
  std::optional<store::TaskRecord> task = VisibleTask(req, res, who);
  if (!task) return;
  Result<std::vector<store::AuditRecord>> audit = deps_.store->ListAudit(task->id);
  if (!audit) return SendError(res, audit.error());
  Result<std::vector<store::LedgerRow>> ledger = deps_.store->ListLedger({.task_id = task->id});
  if (!ledger) return SendError(res, ledger.error());
  ordered_json out = ordered_json::array();
  for (const store::AuditRecord& record : *audit) {
    if (record.kind != "route_decision") continue;
    json payload = json::parse(record.payload, nullptr, false);
    if (!payload.is_object()) continue;
    ordered_json rules = ordered_json::array();
    if (auto it = payload.find("rules"); it != payload.end() && it->is_array()) {
      for (const json& rule : *it) {
        if (rule.is_string()) rules.push_back(rule.get<std::string>());
      }
    }
    out.push_back({{"time_ms", record.created_at_ms},
                   {"route", StringField(payload, "route")},
                   {"provider", StringField(payload, "provider")},
                   {"reason", StringField(payload, "reason")},
                   {"rules", std::move(rules)},
                   {"outcome", StringField(payload, "outcome")}});
  }
  // Each model call leaves one decision and one ledger row, in the same order; the ledger knows
  // the step. Should the two ever disagree in number, steps are left out rather than guessed.
  if (out.size() == ledger->size()) {
    for (size_t i = 0; i < out.size(); ++i)
      out[i]["step"] = (*ledger)[i].step_seq;
  }
  SendJson(res, 200, out);
}

}  // namespace tandem::server
