#include "tandem/agent/agent_memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "tandem/core/config_reader.h"

namespace tandem::agent {
namespace {

using nlohmann::json;

// The query text is clipped: full-text ranking gains little from long text and an embedder may
// limit its input.
constexpr size_t kQueryBytes = 1000;

std::string Clip(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  return std::string(text.substr(0, max_bytes)) + " [...]";
}

std::string_view Label(const router::TaintState& taint) {
  return taint.tainted() ? kTaintSensitive : kTaintNone;
}

// Words only: FTS5 query syntax (quotes, operators, column filters) must not come from the
// goal or from tool output.
std::string QueryWords(std::string_view text) {
  std::string words;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    words += (std::isalnum(u) || u >= 0x80) ? c : ' ';
  }
  return words;
}

}  // namespace

Result<AgentMemoryOptions> ReadAgentMemoryOptions(const Config& config) {
  AgentMemoryOptions options;
  if (!config.document) return options;
  const toml::table* table = ConfigReader(*config.document, "").Table("memory");
  if (table == nullptr) return options;
  ConfigReader reader(*table, "memory");
  auto enabled = reader.Boolean("agent");
  if (!enabled) return std::unexpected(enabled.error());
  options.enabled = enabled->value_or(false);
  auto count = reader.Integer("recall_count");
  if (!count) return std::unexpected(count.error());
  if (*count) {
    if (**count < 0 || **count > 50) {
      return std::unexpected(reader.ErrorAt("recall_count", "must be between 0 and 50"));
    }
    options.recall_count = static_cast<size_t>(**count);
  }
  auto bytes = reader.Integer("recall_bytes");
  if (!bytes) return std::unexpected(bytes.error());
  if (*bytes) {
    if (**bytes < 50 || **bytes > 100000) {
      return std::unexpected(reader.ErrorAt("recall_bytes", "must be between 50 and 100000"));
    }
    options.recall_bytes = static_cast<size_t>(**bytes);
  }
  return options;
}

AgentMemory::AgentMemory(memory::MemoryStore* store, AgentMemoryOptions options,
                         const router::Policy* policy)
    : store_(store), options_(options), policy_(policy) {}

Status AgentMemory::EnsureCollections() {
  if (collections_ready_) return {};
  for (std::string_view name : {kObservationsCollection, kSummariesCollection}) {
    Result<memory::CollectionInfo> info = store_->GetOrCreateCollection(std::string(name), {});
    if (!info) return std::unexpected(std::move(info.error()).WithContext(std::string(name)));
  }
  collections_ready_ = true;
  return {};
}

Status AgentMemory::RememberStep(const store::TaskRecord& task, const store::StepRecord& step,
                                 const router::TaintState& taint) {
  if (step.result.empty()) return {};
  if (Status ready = EnsureCollections(); !ready) return ready;
  memory::Record record{.id = fmt::format("{}:{}", task.id, step.seq),
                        .document = step.result,
                        .metadata = {{"task", task.id},
                                     {"step", step.seq},
                                     {"tool", step.tool_name},
                                     {"taint", Label(taint)},
                                     {"is_error", step.result_is_error},
                                     {"kind", "observation"}}};
  return store_->Upsert(std::string(kObservationsCollection), {record});
}

Status AgentMemory::RememberSummary(const store::TaskRecord& task, std::string_view summary,
                                    int64_t steps, const router::TaintState& taint) {
  if (summary.empty()) return {};
  if (Status ready = EnsureCollections(); !ready) return ready;
  memory::Record record{.id = task.id,
                        .document = fmt::format("Goal: {}\nOutcome: {}", task.goal, summary),
                        .metadata = {{"task", task.id},
                                     {"step", steps},
                                     {"tool", "finish"},
                                     {"taint", Label(taint)},
                                     {"kind", "summary"}}};
  return store_->Upsert(std::string(kSummariesCollection), {record});
}

Result<Recollection> AgentMemory::Recall(const store::TaskRecord& task,
                                         std::string_view latest_observation,
                                         router::TaintState& taint) {
  Recollection recollection;
  if (options_.recall_count == 0) return recollection;
  if (Status ready = EnsureCollections(); !ready) return std::unexpected(ready.error());
  std::string query = QueryWords(Clip(
      fmt::format("{} {}", task.goal, latest_observation.substr(0, kQueryBytes)), kQueryBytes));
  if (query.find_first_not_of(' ') == std::string::npos) return recollection;
  std::vector<memory::Hit> hits;
  for (std::string_view collection : {kSummariesCollection, kObservationsCollection}) {
    // A task's own observations are already in its context (or its summary).
    Result<memory::QueryResult> found =
        store_->Query(std::string(collection), {.text = query,
                                                .n_results = options_.recall_count,
                                                .where = {{"task", {{"$ne", task.id}}}}});
    if (!found) return std::unexpected(std::move(found.error()).WithContext("recalling memories"));
    for (memory::Hit& hit : found->hits)
      hits.push_back(std::move(hit));
  }
  std::ranges::stable_sort(
      hits, [](const memory::Hit& a, const memory::Hit& b) { return a.score > b.score; });
  if (hits.size() > options_.recall_count) hits.resize(options_.recall_count);
  for (const memory::Hit& hit : hits) {
    const json& meta = hit.metadata;
    std::string label = meta.is_object() ? meta.value("taint", "") : "";
    std::string source = meta.is_object() ? meta.value("tool", "") : "";
    std::string text = Clip(hit.document, options_.recall_bytes);
    size_t marks_before = taint.marks().size();
    if (label == kTaintSensitive) {
      taint.Add({.source = router::TaintSource::kMemoryRecall,
                 .origin = hit.id,
                 .reasons = {"sensitive_memory"}});
    }
    if (policy_ != nullptr) policy_->ObserveMemoryRecall(taint, hit.document);
    if (taint.marks().size() > marks_before) recollection.raised_taint = true;
    recollection.texts.push_back(
        fmt::format("({} {}) {}", source.empty() ? "memory" : source, hit.id, text));
  }
  return recollection;
}

}  // namespace tandem::agent
