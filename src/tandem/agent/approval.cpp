#include "tandem/agent/approval.h"

#include <cstring>
#include <unordered_map>

namespace tandem::agent {
namespace {

using nlohmann::json;

struct Leaf {
  std::string pointer;
  std::string_view value;
  bool untrusted = false;
};

void CollectLeaves(const json& node, const json::json_pointer& pointer, std::vector<Leaf>& out) {
  if (node.is_string()) {
    out.push_back({pointer.to_string(), node.get_ref<const std::string&>()});
  } else if (node.is_object()) {
    for (const auto& [key, value] : node.items())
      CollectLeaves(value, pointer / key, out);
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i)
      CollectLeaves(node[i], pointer / i, out);
  }
}

// A polynomial rolling hash over kUntrustedRun bytes (wrapping arithmetic), so each
// observation is scanned once however many argument runs are looked for.
constexpr uint64_t kBase = 1099511628211ULL;

uint64_t TopPower() {
  uint64_t power = 1;
  for (size_t i = 1; i < kUntrustedRun; ++i)
    power *= kBase;
  return power;
}

uint64_t HashRun(std::string_view text) {
  uint64_t hash = 0;
  for (size_t i = 0; i < kUntrustedRun; ++i)
    hash = hash * kBase + static_cast<unsigned char>(text[i]);
  return hash;
}

struct RunRef {
  size_t leaf;
  size_t offset;
};

// Marks leaves that share a kUntrustedRun-byte run with `observation`.
void ScanRuns(std::string_view observation,
              const std::unordered_map<uint64_t, std::vector<RunRef>>& runs,
              std::vector<Leaf>& leaves, uint64_t top_power) {
  if (observation.size() < kUntrustedRun) return;
  uint64_t hash = HashRun(observation);
  for (size_t i = 0;; ++i) {
    if (auto found = runs.find(hash); found != runs.end()) {
      for (const RunRef& ref : found->second) {
        Leaf& leaf = leaves[ref.leaf];
        if (!leaf.untrusted && std::memcmp(leaf.value.data() + ref.offset, observation.data() + i,
                                           kUntrustedRun) == 0) {
          leaf.untrusted = true;
        }
      }
    }
    if (i + kUntrustedRun >= observation.size()) break;
    hash = (hash - static_cast<unsigned char>(observation[i]) * top_power) * kBase +
           static_cast<unsigned char>(observation[i + kUntrustedRun]);
  }
}

}  // namespace

ApprovalDecision ContinuousApprover::Decide(const ApprovalRequest&) {
  return {.kind = ApprovalKind::kApprove, .note = "continuous mode"};
}

std::vector<std::string> FindUntrustedArguments(const json& arguments,
                                                const std::vector<std::string_view>& observations) {
  std::vector<Leaf> leaves;
  CollectLeaves(arguments, json::json_pointer(), leaves);
  const uint64_t top_power = TopPower();
  std::unordered_map<uint64_t, std::vector<RunRef>> runs;
  for (size_t l = 0; l < leaves.size(); ++l) {
    std::string_view value = leaves[l].value;
    if (value.size() < kUntrustedRun) continue;
    uint64_t hash = HashRun(value);
    for (size_t offset = 0;; ++offset) {
      runs[hash].push_back({l, offset});
      if (offset + kUntrustedRun >= value.size()) break;
      hash = (hash - static_cast<unsigned char>(value[offset]) * top_power) * kBase +
             static_cast<unsigned char>(value[offset + kUntrustedRun]);
    }
  }
  for (std::string_view observation : observations) {
    if (!runs.empty()) ScanRuns(observation, runs, leaves, top_power);
    for (Leaf& leaf : leaves) {
      // Values shorter than a run can only match whole.
      if (!leaf.untrusted && leaf.value.size() >= kUntrustedMinValue &&
          leaf.value.size() < kUntrustedRun &&
          observation.find(leaf.value) != std::string_view::npos) {
        leaf.untrusted = true;
      }
    }
  }
  std::vector<std::string> paths;
  for (const Leaf& leaf : leaves) {
    if (leaf.untrusted) paths.push_back(leaf.pointer);
  }
  return paths;
}

std::string_view ApprovalKindName(ApprovalKind kind) {
  switch (kind) {
    case ApprovalKind::kApprove:
      return "approve";
    case ApprovalKind::kApproveNext:
      return "approve_next";
    case ApprovalKind::kRefuse:
      return "refuse";
    case ApprovalKind::kFeedback:
      return "feedback";
  }
  return "refuse";
}

}  // namespace tandem::agent
