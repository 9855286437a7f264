#include "tandem/tools/exec_tools.h"

#include <fmt/format.h>

#include "tandem/tools/basic_tool.h"
#include "tandem/tools/text_util.h"

namespace tandem::tools {
namespace {

using nlohmann::json;

// Shared by execute_shell and execute_python, which use the same sandbox configuration;
// the sandbox is immutable after creation.
using SharedSandbox = std::shared_ptr<const Result<std::unique_ptr<Sandbox>>>;

class ExecTool : public BasicTool {
 public:
  ExecTool(std::string name, std::string description, std::string argument,
           std::vector<std::string> argv_prefix, bool code_on_stdin, SharedSandbox sandbox)
      : BasicTool(
            std::move(name), std::move(description),
            ObjectSchema({{argument, {{"type", "string"}, {"minLength", 1}, {"maxLength", 100000}}},
                          {"timeout_s", {{"type", "number"}, {"minimum", 0.1}, {"maximum", 3600}}}},
                         {argument}),
            EffectClass::kWriteWorkspace),
        argument_(std::move(argument)),
        argv_prefix_(std::move(argv_prefix)),
        code_on_stdin_(code_on_stdin),
        sandbox_(std::move(sandbox)) {}

  Result<ToolResult> Invoke(const json& args, ToolContext& context) const override {
    if (!*sandbox_) return std::unexpected(sandbox_->error());
    if (context.workspace_root.empty()) {
      return MakeError(ErrorCode::kFailedPrecondition, "no workspace is set for this call");
    }
    const std::string& code = args[argument_].get_ref<const std::string&>();
    ProcessRequest request;
    request.argv = argv_prefix_;
    if (code_on_stdin_) {
      request.stdin_data = code;
    } else {
      request.argv.push_back(code);
    }
    request.workspace = context.workspace_root;
    request.cancel = context.cancel;
    request.timeout_s =
        std::min(args.value("timeout_s", context.limits.timeout_s), context.limits.timeout_s);
    Result<ProcessOutcome> outcome = (**sandbox_)->Run(request);
    if (!outcome) return std::unexpected(outcome.error());
    if (outcome->cancelled) return MakeError(ErrorCode::kCancelled, "cancelled while running");
    ToolResult result;
    result.is_error = outcome->exit_code != 0 || outcome->timed_out;
    result.output = fmt::format("[{}]\n{}", outcome->Describe(), outcome->stdout_text);
    if (!outcome->stderr_text.empty()) {
      result.output += fmt::format("{}[stderr]\n{}", result.output.ends_with('\n') ? "" : "\n",
                                   outcome->stderr_text);
    }
    result.output = CapText(result.output, static_cast<size_t>(context.limits.max_output_bytes));
    result.data = {{"exit_code", outcome->exit_code},
                   {"timed_out", outcome->timed_out},
                   {"output_truncated", outcome->output_truncated}};
    return result;
  }

 private:
  std::string argument_;
  std::vector<std::string> argv_prefix_;
  bool code_on_stdin_;
  SharedSandbox sandbox_;
};

}  // namespace

std::vector<std::unique_ptr<Tool>> MakeExecTools(const SandboxOptions& options) {
  auto sandbox = std::make_shared<const Result<std::unique_ptr<Sandbox>>>(Sandbox::Create(options));
  std::vector<std::unique_ptr<Tool>> tools;
  tools.push_back(std::make_unique<ExecTool>(
      "execute_shell",
      "Run a shell command (/bin/sh -c) in a sandbox: working directory /workspace (the task "
      "workspace, writable), no network, read-only system, limited time and memory.",
      "command", std::vector<std::string>{"/bin/sh", "-c"}, false, sandbox));
  tools.push_back(std::make_unique<ExecTool>(
      "execute_python",
      "Run a Python 3 program in a sandbox: working directory /workspace (the task workspace, "
      "writable), no network, read-only system, limited time and memory. Print results.",
      "code", std::vector<std::string>{"/usr/bin/python3", "-I", "-B", "-"}, true, sandbox));
  return tools;
}

Status RegisterExecTools(Registry& registry, const SandboxOptions& options) {
  for (auto& tool : MakeExecTools(options)) {
    if (Status ok = registry.Register(std::move(tool)); !ok) return ok;
  }
  return {};
}

}  // namespace tandem::tools
