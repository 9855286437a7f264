#include "tandem/cost/planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tandem/cost/format.h"

namespace tandem::cost {
namespace {

constexpr double kSecondsPerHour = 3600;

double AmortisedPerMonth(const LocalProfile& local) {
  return local.purchase_usd / (local.lifetime_years * 12);
}

double UsdPerWattHour(const LocalProfile& local) {
  return local.electricity_usd_per_kwh / 1000;
}

double OnHours(double hours_per_day) {
  return hours_per_day * kDaysPerMonth;
}

double SpotOverheadFactor(const SpotModel& spot) {
  return 1 + spot.interruptions_per_day / 24 * spot.restart_overhead_minutes / 60;
}

double Latency(const Throughput& t, const Workload& w) {
  return w.prompt_tokens_per_call / t.prefill_tokens_per_s +
         w.output_tokens_per_call / t.decode_tokens_per_s;
}

double PerMillion(double monthly_usd, double tokens) {
  return tokens > 0 ? monthly_usd / tokens * 1e6 : 0;
}

std::string FitsList(const InstanceCatalog& catalog, std::string_view hardware) {
  Result<HardwareProfile> profile = catalog.Hardware(hardware);
  if (!profile || profile->by_model_size.empty()) return "none";
  return JoinKeys(profile->by_model_size);
}

// Fills throughput, latency, capacity and meets_workload of a self-hosted option.
void SetServing(Option& option, const InstanceCatalog& catalog, std::string_view hardware,
                const Workload& w, double tokens, double serving_hours) {
  std::optional<Throughput> t = catalog.ThroughputFor(hardware, w.model_size);
  if (!t) {
    option.meets_workload = false;
    option.capacity_tokens_per_month = 0;
    option.notes.push_back(fmt::format("model size {} does not fit {} (fits: {})", w.model_size,
                                       hardware, FitsList(catalog, hardware)));
    return;
  }
  Result<HardwareProfile> profile = catalog.Hardware(hardware);
  option.throughput_source = profile && profile->measured ? "measured" : "catalog";
  option.throughput_tokens_per_s = t->decode_tokens_per_s;
  option.latency_s = Latency(*t, w);
  double capacity = serving_hours * kSecondsPerHour / SecondsPerToken(*t, w.output_share);
  option.capacity_tokens_per_month = capacity;
  if (tokens > capacity) {
    option.meets_workload = false;
    double needed_hours = w.hours_per_day * tokens / capacity;
    std::string needs =
        needed_hours <= 24
            ? fmt::format("needs {:.1f} h/day", needed_hours)
            : fmt::format("needs {:.1f} times its capacity at 24 h/day", needed_hours / 24);
    option.notes.push_back(fmt::format(
        "cannot carry {} tokens/month in {} h/day: capacity {} tokens/month ({})",
        FormatTokens(tokens), FormatNumber(w.hours_per_day), FormatTokens(capacity), needs));
  }
}

Option NewOption(OptionKind kind, std::string name, std::string detail) {
  Option option;
  option.kind = kind;
  option.name = std::move(name);
  option.detail = std::move(detail);
  return option;
}

Option BuildLocal(const InstanceCatalog& catalog, const std::string& name,
                  const LocalProfile& local, const Workload& w, double tokens) {
  Option option = NewOption(OptionKind::kLocal, name, local.description);
  Throughput t = catalog.ThroughputFor(local.hardware, w.model_size).value_or(Throughput{});
  bool fits = t.decode_tokens_per_s > 0;
  option.vs_hours = fits ? LocalCostVsHours(local, t, w, tokens)
                         : LinearCost{AmortisedPerMonth(local) + local.operations_usd_per_month,
                                      kDaysPerMonth * local.power_idle_w * UsdPerWattHour(local)};
  option.vs_tokens =
      fits ? LocalCostVsTokens(local, t, w) : LinearCost{option.vs_hours.At(w.hours_per_day), 0};
  option.monthly_usd = option.vs_hours.At(w.hours_per_day);
  option.usd_per_million_tokens = PerMillion(option.monthly_usd, tokens);
  double amortised = AmortisedPerMonth(local);
  option.breakdown = {
      {"amortised purchase", amortised},
      {"operations", local.operations_usd_per_month},
      {"energy", option.monthly_usd - amortised - local.operations_usd_per_month},
  };
  SetServing(option, catalog, local.hardware, w, tokens,
             OnHours(w.hours_per_day) * local.utilisation);
  return option;
}

Option BuildInstance(const InstanceCatalog& catalog, OptionKind kind, const std::string& name,
                     const CloudInstance& instance, const Workload& w, double tokens,
                     double discount) {
  Option option =
      NewOption(kind, name,
                fmt::format("{} {} GB, {} {}", instance.gpu, FormatNumber(instance.gpu_memory_gb),
                            instance.provider, instance.region));
  const SpotModel& spot = catalog.spot();
  option.vs_hours = kind == OptionKind::kCloudSpot ? SpotCostVsHours(instance, spot, discount)
                                                   : OnDemandCostVsHours(instance);
  option.monthly_usd = option.vs_hours.At(w.hours_per_day);
  option.vs_tokens = {option.monthly_usd, 0};
  option.usd_per_million_tokens = PerMillion(option.monthly_usd, tokens);
  double hours = OnHours(w.hours_per_day);
  SetServing(option, catalog, instance.hardware, w, tokens, hours);
  if (kind == OptionKind::kCloudSpot) {
    double spot_hours = instance.usd_per_hour * (1 - discount) * hours;
    option.breakdown = {{fmt::format("spot hours ({:.0f}% off)", discount * 100), spot_hours},
                        {"interruption restarts", option.monthly_usd - spot_hours}};
    option.notes.push_back(
        fmt::format("{:.0f} s interruption notice; {} interruptions/day assumed, {} min lost each",
                    spot.interruption_notice_s, FormatNumber(spot.interruptions_per_day),
                    FormatNumber(spot.restart_overhead_minutes)));
  } else {
    option.breakdown = {{"instance hours", option.monthly_usd}};
  }
  return option;
}

bool ApiCapable(const InstanceCatalog& catalog, const ApiOffer& api, const Workload& w,
                std::string* why) {
  const auto& classes = catalog.api_speed().size_class_b;
  auto size_class = classes.find(api.name);
  std::optional<double> needed = ModelSizeBillions(w.model_size);
  if (size_class != classes.end() && needed && size_class->second < *needed) {
    *why = fmt::format("stands in for a {}b model, below the workload's {}",
                       FormatNumber(size_class->second), w.model_size);
    return false;
  }
  if (!api.supports_tools) {
    *why = "does not support tool calls";
    return false;
  }
  if (api.max_input_tokens > 0 && api.max_input_tokens < w.prompt_tokens_per_call) {
    *why = fmt::format("context of {} tokens is below the {} prompt tokens per call",
                       api.max_input_tokens, FormatNumber(w.prompt_tokens_per_call));
    return false;
  }
  if (api.max_output_tokens > 0 && api.max_output_tokens < w.output_tokens_per_call) {
    *why = fmt::format("output limit of {} tokens is below the {} output tokens per call",
                       api.max_output_tokens, FormatNumber(w.output_tokens_per_call));
    return false;
  }
  return true;
}

Option BuildApi(const InstanceCatalog& catalog, const ApiOffer& api, const Workload& w,
                double tokens) {
  const auto& classes = catalog.api_speed().size_class_b;
  auto size_class = classes.find(api.name);
  Option option = NewOption(
      OptionKind::kApi, api.name,
      size_class == classes.end()
          ? api.provider
          : fmt::format("{}, stands in for {}b", api.provider, FormatNumber(size_class->second)));
  option.vs_tokens = ApiCostVsTokens(api, w.output_share);
  option.monthly_usd = option.vs_tokens.At(tokens);
  option.vs_hours = {option.monthly_usd, 0};
  option.usd_per_million_tokens = PerMillion(option.monthly_usd, tokens);
  option.breakdown = {{"tokens", option.monthly_usd}};
  const ApiSpeed& speed = catalog.api_speed();
  option.throughput_tokens_per_s = speed.decode_tokens_per_s;
  option.latency_s = speed.first_token_s + w.output_tokens_per_call / speed.decode_tokens_per_s;
  option.throughput_source = "estimate";
  std::string why;
  if (!ApiCapable(catalog, api, w, &why)) {
    option.meets_workload = false;
    option.notes.push_back(why);
  }
  return option;
}

// The named instance, or the cheapest per hour that runs the model size with enough capacity
// (then the cheapest that runs it at all, then the cheapest).
Result<std::string> ChooseInstance(const InstanceCatalog& catalog, const Workload& w) {
  if (!w.instance.empty()) {
    Result<CloudInstance> named = catalog.Instance(w.instance);
    if (!named) return std::unexpected(named.error());
    return w.instance;
  }
  if (catalog.instances().empty()) {
    return MakeError(ErrorCode::kFailedPrecondition, "the catalog lists no cloud instance");
  }
  std::string best;
  int best_rank = 3;
  double best_price = std::numeric_limits<double>::infinity();
  for (const auto& [name, instance] : catalog.instances()) {
    Option option = BuildInstance(catalog, OptionKind::kCloudOnDemand, name, instance, w,
                                  w.tokens_per_month, 0);
    int rank = option.meets_workload ? 0 : option.throughput_tokens_per_s ? 1 : 2;
    if (rank < best_rank || (rank == best_rank && instance.usd_per_hour < best_price)) {
      best = name;
      best_rank = rank;
      best_price = instance.usd_per_hour;
    }
  }
  return best;
}

Result<std::string> ChooseLocal(const InstanceCatalog& catalog, const Workload& w) {
  if (!w.local_profile.empty()) {
    Result<LocalProfile> named = catalog.Local(w.local_profile);
    if (!named) return std::unexpected(named.error());
    return w.local_profile;
  }
  if (catalog.local_profiles().empty()) {
    return MakeError(ErrorCode::kFailedPrecondition, "the catalog lists no local profile");
  }
  std::string best;
  int best_rank = 3;
  double best_cost = std::numeric_limits<double>::infinity();
  for (const auto& [name, local] : catalog.local_profiles()) {
    Option option = BuildLocal(catalog, name, local, w, w.tokens_per_month);
    int rank = option.meets_workload ? 0 : option.throughput_tokens_per_s ? 1 : 2;
    if (rank < best_rank || (rank == best_rank && option.monthly_usd < best_cost)) {
      best = name;
      best_rank = rank;
      best_cost = option.monthly_usd;
    }
  }
  return best;
}

// The cheapest capable API first, then the named ones not already listed.
Result<std::vector<ApiOffer>> ChooseApis(const InstanceCatalog& catalog,
                                         const std::vector<ApiOffer>& apis, const Workload& w) {
  std::vector<ApiOffer> chosen;
  const ApiOffer* cheapest = nullptr;
  double cheapest_price = std::numeric_limits<double>::infinity();
  for (const ApiOffer& api : apis) {
    std::string why;
    double price = ApiCostVsTokens(api, w.output_share).usd_per_unit;
    if (ApiCapable(catalog, api, w, &why) && price < cheapest_price) {
      cheapest = &api;
      cheapest_price = price;
    }
  }
  if (cheapest) chosen.push_back(*cheapest);
  for (const std::string& name : w.api_models) {
    auto it = std::find_if(apis.begin(), apis.end(),
                           [&](const ApiOffer& api) { return api.name == name; });
    if (it == apis.end()) {
      std::string valid;
      for (const ApiOffer& api : apis)
        valid += (valid.empty() ? "" : ", ") + api.name;
      return MakeError(ErrorCode::kNotFound, "unknown API model \"{}\" (valid: {})", name, valid);
    }
    bool listed = std::any_of(chosen.begin(), chosen.end(),
                              [&](const ApiOffer& api) { return api.name == name; });
    if (!listed) chosen.push_back(*it);
  }
  return chosen;
}

Option BuildHybrid(const Option& local_part, const Option& rest, const Workload& w) {
  double s = w.sensitive_share;
  Option option =
      NewOption(OptionKind::kHybrid, local_part.name + " + " + rest.name,
                fmt::format("{:.0f}% local on {}, {:.0f}% on {} ({})", s * 100, local_part.name,
                            (1 - s) * 100, rest.name, OptionKindName(rest.kind)));
  option.monthly_usd = local_part.monthly_usd + rest.monthly_usd;
  option.usd_per_million_tokens = PerMillion(option.monthly_usd, w.tokens_per_month);
  option.vs_hours = {local_part.vs_hours.fixed_usd + rest.vs_hours.fixed_usd,
                     local_part.vs_hours.usd_per_unit + rest.vs_hours.usd_per_unit};
  // Each part carries a fixed share of the tokens, so its per-token slope scales by that share.
  option.vs_tokens = {
      local_part.vs_tokens.fixed_usd + rest.vs_tokens.fixed_usd,
      local_part.vs_tokens.usd_per_unit * s + rest.vs_tokens.usd_per_unit * (1 - s)};
  option.breakdown = {{fmt::format("local share ({:.0f}%)", s * 100), local_part.monthly_usd},
                      {fmt::format("rest on {}", rest.name), rest.monthly_usd}};
  // The slower part bounds the hybrid: report its throughput and latency.
  option.throughput_tokens_per_s = local_part.throughput_tokens_per_s;
  option.latency_s = local_part.latency_s;
  option.throughput_source = local_part.throughput_source;
  if (rest.latency_s && (!option.latency_s || *rest.latency_s > *option.latency_s)) {
    option.latency_s = rest.latency_s;
    option.throughput_tokens_per_s = rest.throughput_tokens_per_s;
    option.throughput_source = rest.throughput_source;
  }
  option.meets_workload = local_part.meets_workload && rest.meets_workload;
  for (const Option* part : {&local_part, &rest}) {
    for (const std::string& note : part->notes)
      option.notes.push_back(part->name + ": " + note);
  }
  return option;
}

Recommendation Recommend(const Plan& plan) {
  const Workload& w = plan.workload;
  std::vector<const Option*> allowed;
  for (const Option& option : plan.options) {
    if (option.meets_workload && option.privacy_ok) allowed.push_back(&option);
  }
  Recommendation rec;
  bool fallback = allowed.empty();
  if (fallback) {
    // Nothing carries the whole workload: recommend the cheapest option that keeps the
    // privacy boundary, and say it falls short.
    for (const Option& option : plan.options) {
      if (option.privacy_ok) allowed.push_back(&option);
    }
  }
  std::stable_sort(allowed.begin(), allowed.end(), [](const Option* a, const Option* b) {
    return a->monthly_usd < b->monthly_usd;
  });
  const Option& best = *allowed.front();
  rec.kind = best.kind;
  rec.name = best.name;
  rec.monthly_usd = best.monthly_usd;
  rec.reasons.push_back(
      fmt::format("{} ({}) is the cheapest option that {}: {}/month, {} per million tokens",
                  best.name, OptionKindName(best.kind),
                  fallback ? "keeps the privacy boundary (no option carries the whole workload)"
                           : "carries the workload",
                  FormatUsd(best.monthly_usd), FormatUsd(best.usd_per_million_tokens)));
  if (allowed.size() > 1) {
    const Option& next = *allowed[1];
    rec.reasons.push_back(fmt::format("next best: {} ({}) at {}/month", next.name,
                                      OptionKindName(next.kind), FormatUsd(next.monthly_usd)));
  }
  // Cost decides; speed is reported so a slower winner is a visible trade-off.
  for (const Option* other : allowed) {
    if (other->latency_s && best.latency_s && *other->latency_s * 1.5 < *best.latency_s) {
      rec.reasons.push_back(
          fmt::format("trade-off: {} answers a call in {:.1f} s, {} ({}) in {:.1f} s for {}/month",
                      best.name, *best.latency_s, other->name, OptionKindName(other->kind),
                      *other->latency_s, FormatUsd(other->monthly_usd)));
      break;
    }
  }
  if (w.sensitive_share > 0) {
    rec.reasons.push_back(fmt::format(
        "{:.0f}% of tokens are sensitive and must stay in the local zone: cloud-only and API "
        "options are excluded",
        w.sensitive_share * 100));
  }
  for (const Option& option : plan.options) {
    if (!option.meets_workload && option.kind != OptionKind::kHybrid && !option.notes.empty()) {
      rec.reasons.push_back(fmt::format("{} {} excluded: {}", OptionKindName(option.kind),
                                        option.name, option.notes.front()));
    }
  }
  const Option& local = plan.options.front();
  for (const BreakEven& be : plan.break_evens) {
    bool api = be.kind == OptionKind::kApi;
    const Crossing& crossing = api ? be.tokens_per_month : be.hours_per_day;
    rec.reasons.push_back(fmt::format(
        "against {} {}, local {} is {} (at {})", OptionKindName(be.kind), be.name, local.name,
        DescribeCrossing(crossing, api ? Axis::kTokensPerMonth : Axis::kHoursPerDay),
        api ? FormatNumber(w.hours_per_day) + " h/day"
            : FormatTokens(w.tokens_per_month) + " tokens/month"));
  }
  return rec;
}

}  // namespace

std::string DescribeCrossing(const Crossing& crossing, Axis axis) {
  bool hours = axis == Axis::kHoursPerDay;
  auto value = [&](double x) {
    return hours ? fmt::format("{:.1f} h/day", x) : FormatTokens(x) + " tokens/month";
  };
  switch (crossing.local_cheaper) {
    case LocalCheaper::kAbove:
      return "cheaper above " + value(*crossing.at);
    case LocalCheaper::kBelow:
      return "cheaper below " + value(*crossing.at);
    case LocalCheaper::kAlways:
      return hours ? "cheaper at any hours per day" : "cheaper at any volume both can carry";
    case LocalCheaper::kNever:
      return hours ? "never cheaper up to 24 h/day" : "never cheaper at a volume both can carry";
  }
  return "";
}

std::string_view OptionKindName(OptionKind kind) {
  switch (kind) {
    case OptionKind::kLocal:
      return "local";
    case OptionKind::kCloudOnDemand:
      return "cloud_on_demand";
    case OptionKind::kCloudSpot:
      return "cloud_spot";
    case OptionKind::kApi:
      return "api";
    case OptionKind::kHybrid:
      return "hybrid";
  }
  return "";
}

double SecondsPerToken(const Throughput& t, double output_share) {
  return (1 - output_share) / t.prefill_tokens_per_s + output_share / t.decode_tokens_per_s;
}

LinearCost LocalCostVsHours(const LocalProfile& local, const Throughput& t, const Workload& w,
                            double tokens_per_month) {
  double busy_hours = tokens_per_month * SecondsPerToken(t, w.output_share) / kSecondsPerHour;
  double per_wh = UsdPerWattHour(local);
  return {AmortisedPerMonth(local) + local.operations_usd_per_month +
              busy_hours * (local.power_load_w - local.power_idle_w) * per_wh,
          kDaysPerMonth * local.power_idle_w * per_wh};
}

LinearCost LocalCostVsTokens(const LocalProfile& local, const Throughput& t, const Workload& w) {
  double per_wh = UsdPerWattHour(local);
  return {AmortisedPerMonth(local) + local.operations_usd_per_month +
              OnHours(w.hours_per_day) * local.power_idle_w * per_wh,
          SecondsPerToken(t, w.output_share) / kSecondsPerHour *
              (local.power_load_w - local.power_idle_w) * per_wh};
}

LinearCost OnDemandCostVsHours(const CloudInstance& instance) {
  return {0, instance.usd_per_hour * kDaysPerMonth};
}

LinearCost SpotCostVsHours(const CloudInstance& instance, const SpotModel& spot, double discount) {
  return {0, instance.usd_per_hour * (1 - discount) * SpotOverheadFactor(spot) * kDaysPerMonth};
}

LinearCost ApiCostVsTokens(const ApiOffer& api, double output_share) {
  return {0,
          (1 - output_share) * api.input_usd_per_token + output_share * api.output_usd_per_token};
}

Crossing SolveBreakEven(const LinearCost& local, const LinearCost& other, double lo, double hi) {
  // Local is cheaper where diff(x) = df + ds * x is negative.
  double df = local.fixed_usd - other.fixed_usd;
  double ds = local.usd_per_unit - other.usd_per_unit;
  if (ds == 0) return {std::nullopt, df < 0 ? LocalCheaper::kAlways : LocalCheaper::kNever};
  double x = -df / ds;
  if (ds < 0) {
    if (x <= lo) return {std::nullopt, LocalCheaper::kAlways};
    if (x >= hi) return {std::nullopt, LocalCheaper::kNever};
    return {x, LocalCheaper::kAbove};
  }
  if (x >= hi) return {std::nullopt, LocalCheaper::kAlways};
  if (x <= lo) return {std::nullopt, LocalCheaper::kNever};
  return {x, LocalCheaper::kBelow};
}

Result<Plan> MakePlan(const InstanceCatalog& catalog, const Workload& w,
                      const std::vector<ApiOffer>& apis) {
  if (Status valid = ValidateWorkload(w); !valid) return std::unexpected(valid.error());
  std::vector<std::string> sizes = catalog.ModelSizes();
  if (std::find(sizes.begin(), sizes.end(), w.model_size) == sizes.end()) {
    return MakeError(ErrorCode::kNotFound, "unknown model size \"{}\" (valid: {})", w.model_size,
                     fmt::join(sizes, ", "));
  }
  Result<std::string> instance_name = ChooseInstance(catalog, w);
  if (!instance_name) return std::unexpected(instance_name.error());
  Result<std::string> local_name = ChooseLocal(catalog, w);
  if (!local_name) return std::unexpected(local_name.error());
  Result<std::vector<ApiOffer>> chosen_apis = ChooseApis(catalog, apis, w);
  if (!chosen_apis) return std::unexpected(chosen_apis.error());

  Plan plan;
  plan.workload = w;
  plan.catalog_as_of = catalog.as_of();
  plan.spot_discount = w.spot_discount.value_or(catalog.spot().default_discount);
  const CloudInstance& instance = catalog.instances().find(*instance_name)->second;
  const LocalProfile& local = catalog.local_profiles().find(*local_name)->second;
  double tokens = w.tokens_per_month;
  plan.options.push_back(BuildLocal(catalog, *local_name, local, w, tokens));
  for (OptionKind kind : {OptionKind::kCloudOnDemand, OptionKind::kCloudSpot}) {
    plan.options.push_back(
        BuildInstance(catalog, kind, *instance_name, instance, w, tokens, plan.spot_discount));
  }
  for (const ApiOffer& api : *chosen_apis)
    plan.options.push_back(BuildApi(catalog, api, w, tokens));

  // Hybrid: the sensitive share on the local profile, the rest on the cheapest option able to
  // carry it among on-demand, spot and the APIs listed.
  double rest_tokens = tokens * (1 - w.sensitive_share);
  Option local_part = BuildLocal(catalog, *local_name, local, w, tokens * w.sensitive_share);
  std::vector<Option> rests;
  for (OptionKind kind : {OptionKind::kCloudOnDemand, OptionKind::kCloudSpot}) {
    rests.push_back(
        BuildInstance(catalog, kind, *instance_name, instance, w, rest_tokens, plan.spot_discount));
  }
  for (const ApiOffer& api : *chosen_apis)
    rests.push_back(BuildApi(catalog, api, w, rest_tokens));
  std::stable_sort(rests.begin(), rests.end(), [](const Option& a, const Option& b) {
    if (a.meets_workload != b.meets_workload) return a.meets_workload;
    return a.monthly_usd < b.monthly_usd;
  });
  if (rest_tokens > 0) {
    plan.options.push_back(BuildHybrid(local_part, rests.front(), w));
  } else {
    // Everything is sensitive: the hybrid degenerates to the local machine alone.
    Option all_local = local_part;
    all_local.kind = OptionKind::kHybrid;
    all_local.detail = "100% local on " + local_part.name + " (all tokens are sensitive)";
    plan.options.push_back(std::move(all_local));
  }

  for (Option& option : plan.options) {
    bool cloud = option.kind != OptionKind::kLocal && option.kind != OptionKind::kHybrid;
    if (cloud && w.sensitive_share > 0) {
      option.privacy_ok = false;
      option.notes.push_back(fmt::format(
          "would send the {:.0f}% sensitive share out of the local zone", w.sensitive_share * 100));
    }
  }
  // Break-even along tokens is searched only up to what both sides can carry: beyond the
  // local machine's capacity local cannot be "cheaper" at all.
  const Option& local_option = plan.options.front();
  for (const Option& option : plan.options) {
    if (option.kind == OptionKind::kLocal || option.kind == OptionKind::kHybrid) continue;
    double tokens_hi = std::min(
        local_option.capacity_tokens_per_month.value_or(0),
        option.capacity_tokens_per_month.value_or(std::numeric_limits<double>::infinity()));
    plan.break_evens.push_back(
        {.kind = option.kind,
         .name = option.name,
         .hours_per_day = SolveBreakEven(local_option.vs_hours, option.vs_hours, 0, 24),
         .tokens_per_month =
             SolveBreakEven(local_option.vs_tokens, option.vs_tokens, 0, tokens_hi)});
  }
  plan.recommendation = Recommend(plan);
  return plan;
}

}  // namespace tandem::cost
