// `tandem route explain`: where a payload would be sent and why, through the same Gateway
// decision the agent uses (no model is called and no API key is needed).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.h"
#include "tandem/router/gateway.h"

namespace tandem::cli {
namespace {

struct ExplainOptions {
  std::string text;
  std::string file;
  std::vector<std::string> labels;
  bool json = false;
};

nlohmann::json DecisionToJson(const router::Decision& decision) {
  nlohmann::json findings = nlohmann::json::array();
  for (const router::Finding& f : decision.findings()) {
    findings.push_back(
        {{"type", router::EntityTypeName(f.type)}, {"start", f.start}, {"end", f.end}});
  }
  return {{"zone", router::RouteName(decision.route())},
          {"provider", decision.provider()},
          {"findings", std::move(findings)},
          {"rules", decision.rules()},
          {"reason", decision.reason()},
          {"sensitive", decision.sensitive()},
          {"masked", decision.masked()},
          {"strong", decision.strong()},
          {"escalation_reasons", decision.escalation_reasons()},
          {"candidates", decision.candidates()}};
}

void PrintDecision(const router::Decision& decision) {
  fmt::print("zone:     {}\n", router::RouteName(decision.route()));
  fmt::print("provider: {}\n", decision.provider().empty() ? "-" : decision.provider());
  fmt::print("reason:   {}\n", decision.reason());
  if (!decision.rules().empty()) {
    fmt::print("rules:    {}\n", fmt::join(decision.rules(), ", "));
  }
  for (const router::Finding& f : decision.findings()) {
    fmt::print("finding:  {} at bytes {}..{}\n", router::EntityTypeName(f.type), f.start, f.end);
  }
}

void RunExplain(CommandState& state, const ExplainOptions& options) {
  if (options.text.empty() == options.file.empty()) {
    fmt::print(stderr, "error: give exactly one of --text or --file\n");
    state.exit_code = kExitUsage;
    return;
  }
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  std::string payload = options.text;
  router::CallContext context;
  context.labels = options.labels;
  if (!options.file.empty()) {
    std::ifstream in(options.file, std::ios::binary);
    if (!in) {
      fmt::print(stderr, "error: cannot read {}\n", options.file);
      state.exit_code = kExitUsage;
      return;
    }
    std::ostringstream content;
    content << in.rdbuf();
    payload = content.str();
    context.paths = {options.file};
  }
  Result<std::unique_ptr<router::Gateway>> gateway =
      router::Gateway::Create(*config, {.connect = false});
  if (!gateway) {
    state.exit_code = ReportError(gateway.error(), kExitConfig);
    return;
  }
  llm::ChatRequest request;
  request.messages = {llm::Message::User(std::move(payload))};
  router::Decision decision = (*gateway)->Decide(context, request);
  if (options.json) {
    fmt::print("{}\n", DecisionToJson(decision).dump(2));
  } else {
    PrintDecision(decision);
  }
  if (decision.refused()) state.exit_code = kExitRefused;
}

}  // namespace

void AddRouteCommands(CLI::App& app, CommandState& state) {
  CLI::App* route = app.add_subcommand("route", "Inspect routing decisions");
  route->require_subcommand(1);
  CLI::App* explain = route->add_subcommand(
      "explain", "Show where a text or file would be sent (local, cloud or deny) and why");
  // Shared with the callback, which runs after this function returns.
  auto options = std::make_shared<ExplainOptions>();
  CLI::Option* text = explain->add_option("--text", options->text, "The payload text");
  CLI::Option* file = explain->add_option("--file", options->file, "Read the payload from a file");
  text->excludes(file);
  explain->add_option("--label", options->labels, "Task label (repeatable)");
  explain->add_flag("--json", options->json, "Print the decision as JSON");
  explain->callback([&state, options] { RunExplain(state, *options); });
}

}  // namespace tandem::cli
