// tools: what an agent can do in the world — files in its workspace, sandboxed code, the web,
// SQLite databases and email — each behind one `Tool` contract with a JSON Schema and an effect.
//
//   Result<ToolsConfig> config = ParseToolsConfig(app_config);
//   Registry registry;
//   RegisterBuiltinTools(registry, *config);  // tools_config.h
//   ToolContext context;
//   context.workspace_root = task_dir;
//   Result<ToolResult> out = registry.Invoke("read_file", {{"path", "notes.md"}}, context);
//
// The registry validates arguments against the tool's schema before calling it. It does not ask
// for approval: the caller checks `NeedsApproval` (tools_config.h) for `external` effects first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/cancellation.h"
#include "tandem/core/error.h"

namespace tandem::tools {

// What a call may change. The agent's approval policy keys on it.
enum class EffectClass {
  kRead,            // Reads only: workspace files, the web (GET), databases read-only.
  kWriteWorkspace,  // Changes files inside the task's workspace and nothing else.
  kExternal,        // Changes the world outside: email, database writes, network writes.
};
// "read", "write_workspace", "external".
std::string_view EffectClassName(EffectClass effect);

// Caps one call may use. Tools take the smaller of these and their own configured limits.
struct ToolLimits {
  int64_t max_output_bytes = 64 * 1024;  // Text handed back to the model (head and tail kept).
  int64_t max_read_bytes = 1 << 20;      // Largest file read_file/search_files will read.
  int64_t max_write_bytes = 8 << 20;     // Largest content write_file/append_file accepts.
  double timeout_s = 30;                 // Wall clock for one call (code, fetch, query).
};

// Per-call environment given by the caller. Not owned by the tool; must outlive the call.
struct ToolContext {
  std::filesystem::path workspace_root;       // Existing directory the task may change.
  const CancellationToken* cancel = nullptr;  // Polled at safe points; may be null.
  ToolLimits limits;
  std::string task_id;  // The calling task, for tools that start child tasks; may be empty.
  bool Cancelled() const { return cancel != nullptr && cancel->IsCancelled(); }
};

// What a call that ran produced. A call that ran but failed (non-zero exit, HTTP 404, timeout
// of the code under test) is a ToolResult with is_error set: the model should see it. A call
// that could not run (bad arguments, refused by policy, sandbox missing, cancelled) is an Error.
struct ToolResult {
  std::string output;                      // UTF-8 text for the model; capped.
  bool is_error = false;                   // The tool ran and reports failure.
  std::vector<std::string> paths_written;  // Workspace-relative files created or changed.
  nlohmann::json data;                     // Optional structured form (e.g. search results).
};

// One capability. Implementations are immutable after construction, so Invoke may run on
// several threads at once.
class Tool {
 public:
  virtual ~Tool() = default;
  virtual std::string_view name() const = 0;         // snake_case, unique in a registry.
  virtual std::string_view description() const = 0;  // One or two sentences for the model.
  virtual const nlohmann::json& schema() const = 0;  // JSON Schema of the argument object.
  virtual EffectClass effect() const = 0;            // The strongest effect of any call.
  // The effect of this particular call (e.g. sql_query on a read-only database is kRead).
  // Defaults to effect(). `args` has been validated against schema().
  virtual EffectClass EffectOf(const nlohmann::json& args) const;
  // Runs the call. `args` has been validated against schema() by the registry.
  virtual Result<ToolResult> Invoke(const nlohmann::json& args, ToolContext& context) const = 0;
};

// Checks `args` against the JSON-Schema subset tools use: type, properties, required, enum,
// minimum/maximum, minLength/maxLength, additionalProperties (false), items, minItems/maxItems.
// Fails with kInvalidArgument naming the argument ("argument 'path': expected a string").
Status ValidateArguments(const nlohmann::json& schema, const nlohmann::json& args);

// Named tools. Register everything before sharing; after that, lookups and Invoke are
// thread-safe (the map is never changed again).
class Registry {
 public:
  // Fails with kAlreadyExists if the name is taken, kInvalidArgument for a null tool or a name
  // that is not snake_case.
  Status Register(std::unique_ptr<Tool> tool);
  // nullptr if absent.
  const Tool* Find(std::string_view name) const;
  // Sorted by name.
  std::vector<const Tool*> List() const;
  // [{"name", "description", "effect", "parameters"}...] sorted by name, for prompts and the CLI.
  nlohmann::json Describe() const;
  // Validates then invokes. kNotFound for an unknown tool (listing the known ones),
  // kInvalidArgument for bad arguments, kCancelled if the token is already set; otherwise what
  // the tool returns. Does not check approval.
  Result<ToolResult> Invoke(std::string_view name, const nlohmann::json& args,
                            ToolContext& context) const;

 private:
  std::map<std::string, std::unique_ptr<Tool>, std::less<>> tools_;
};

}  // namespace tandem::tools
