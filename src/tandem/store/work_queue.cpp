#include "tandem/store/work_queue_store.h"

namespace tandem::store {

std::string_view PlacementName(Placement placement) {
  return placement == Placement::kLocalOnly ? "local" : "anywhere";
}

std::optional<Placement> ParsePlacement(std::string_view name) {
  if (name == "anywhere") return Placement::kAnywhere;
  if (name == "local") return Placement::kLocalOnly;
  return std::nullopt;
}

std::string_view WorkerZoneName(WorkerZone zone) {
  return zone == WorkerZone::kCloud ? "cloud" : "local";
}

std::optional<WorkerZone> ParseWorkerZone(std::string_view name) {
  if (name == "local") return WorkerZone::kLocal;
  if (name == "cloud") return WorkerZone::kCloud;
  return std::nullopt;
}

bool MayRun(WorkerZone zone, Placement placement) {
  return zone == WorkerZone::kLocal || placement == Placement::kAnywhere;
}

}  // namespace tandem::store
