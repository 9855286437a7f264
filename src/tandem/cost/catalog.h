// The deployment catalog: cloud GPU instances, spot behaviour, local hardware profiles and
// throughput per hardware and model size, from data/catalog/instances.toml (compiled into the
// binary) with overrides from configuration ([catalog.instances."NAME"], [catalog.local."NAME"],
// [catalog.throughput."NAME"], [catalog.spot], [catalog.api]).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/config.h"
#include "tandem/core/error.h"

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace tandem::cost {

// One stream's generation speed for a model size on a hardware profile.
struct Throughput {
  double decode_tokens_per_s = 0;   // Completion tokens per second (batch 1).
  double prefill_tokens_per_s = 0;  // Prompt tokens processed per second.
};

// A GPU (or machine) and the model sizes it can run, with their throughput.
struct HardwareProfile {
  double memory_bandwidth_gbps = 0;  // Informational: input of the decode estimate.
  double fp16_tflops = 0;            // Informational: input of the prefill estimate.
  bool measured = false;             // true when measured on this machine, false for catalog.
  std::map<std::string, Throughput, std::less<>> by_model_size;  // "8b", "14b", "70b".
};

struct CloudInstance {
  std::string provider;  // "aws".
  std::string region;    // "us-east-1".
  std::string gpu;       // "NVIDIA V100".
  int gpu_count = 1;
  double gpu_memory_gb = 0;
  double usd_per_hour = 0;  // On-demand list price.
  std::string hardware;     // Key into InstanceCatalog::hardware().
};

struct SpotModel {
  double discount_min = 0.5;            // Typical lower bound of the spot discount.
  double discount_max = 0.7;            // Typical upper bound.
  double default_discount = 0.6;        // Used unless --spot-discount or [cost] says otherwise.
  double interruption_notice_s = 120;   // Warning before the instance is reclaimed.
  double interruptions_per_day = 0.5;   // Expected reclaims per 24 running hours.
  double restart_overhead_minutes = 8;  // Billed, useless time per interruption.
};

struct LocalProfile {
  std::string description;
  std::string hardware;  // Key into InstanceCatalog::hardware().
  double purchase_usd = 0;
  double lifetime_years = 0;  // Straight-line amortisation period; must be > 0.
  double power_load_w = 0;    // At the wall while generating.
  double power_idle_w = 0;    // At the wall while powered on and idle.
  double electricity_usd_per_kwh = 0;
  double utilisation = 1;  // Share of powered-on hours the machine can serve, in (0, 1].
  double operations_usd_per_month = 0;
};

// Speed and size class of pay-per-token APIs (not published per model; catalog estimates).
struct ApiSpeed {
  double decode_tokens_per_s = 80;
  double first_token_s = 0.6;
  // Model name -> billions of parameters of the self-hosted model it stands in for: the real
  // count for open-weight models served by an API, a judgement for closed ones. An API replaces
  // a self-hosted model only when its class is at least the workload's model size; models
  // absent here are not limited.
  std::map<std::string, double, std::less<>> size_class_b;
};

// Billions of parameters of a model size key ("8b" -> 8); nullopt when it is not of that form.
std::optional<double> ModelSizeBillions(std::string_view model_size);

// Immutable after loading; thread-safe to read.
class InstanceCatalog {
 public:
  // Parses catalog TOML (the shipped file's format). Fails naming the file, line and key of the
  // first bad value (negative price, zero lifetime, unknown hardware profile...).
  static Result<InstanceCatalog> FromToml(std::string_view text, std::string_view source_name);
  // The shipped catalog, then the overrides of config's [catalog] section. Fails naming the
  // file, line and key of a bad override.
  static Result<InstanceCatalog> Load(const Config& config);
  // Applies overrides from a table shaped like the catalog file (used by Load and by tests).
  Status ApplyOverrides(const toml::table& table, std::string_view key_prefix);

  // Lookups fail with kNotFound naming the unknown name and listing the valid ones.
  Result<CloudInstance> Instance(std::string_view name) const;
  Result<LocalProfile> Local(std::string_view name) const;
  Result<HardwareProfile> Hardware(std::string_view name) const;

  // Throughput of `model_size` on `hardware`; nullopt when the size does not fit.
  std::optional<Throughput> ThroughputFor(std::string_view hardware,
                                          std::string_view model_size) const;
  // Every model size that some hardware profile lists, sorted.
  std::vector<std::string> ModelSizes() const;

  const std::string& as_of() const { return as_of_; }
  const std::vector<std::string>& sources() const { return sources_; }
  const std::map<std::string, CloudInstance, std::less<>>& instances() const { return instances_; }
  const std::map<std::string, LocalProfile, std::less<>>& local_profiles() const { return local_; }
  const std::map<std::string, HardwareProfile, std::less<>>& hardware() const { return hardware_; }
  const SpotModel& spot() const { return spot_; }
  const ApiSpeed& api_speed() const { return api_; }

  // Replaces (or adds) a hardware profile, e.g. with figures measured on this machine.
  void SetHardware(std::string name, HardwareProfile profile);

 private:
  // Fails at `table`'s "hardware" key when `hardware` names no profile.
  Status CheckHardware(const toml::table& table, const std::string& prefix,
                       const std::string& hardware) const;

  std::string as_of_;
  std::vector<std::string> sources_;
  std::map<std::string, CloudInstance, std::less<>> instances_;
  std::map<std::string, LocalProfile, std::less<>> local_;
  std::map<std::string, HardwareProfile, std::less<>> hardware_;
  SpotModel spot_;
  ApiSpeed api_;
};

// "a, b, c" of a map's keys, for error messages that list valid choices.
template <typename Map>
std::string JoinKeys(const Map& map) {
  std::string out;
  for (const auto& [key, value] : map) {
    if (!out.empty()) out += ", ";
    out += key;
  }
  return out;
}

}  // namespace tandem::cost
