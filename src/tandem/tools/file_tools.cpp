#include "tandem/tools/file_tools.h"

#include <fmt/format.h>

#include "tandem/tools/basic_tool.h"
#include "tandem/tools/text_util.h"
#include "tandem/tools/workspace.h"

namespace tandem::tools {

using nlohmann::json;

json ObjectSchema(json properties, std::vector<std::string> required) {
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}

namespace {

const json kPathSchema = {{"type", "string"},
                          {"minLength", 1},
                          {"maxLength", 4095},
                          {"description", "Path relative to the workspace root"}};

Result<std::unique_ptr<Workspace>> OpenWorkspace(const ToolContext& context) {
  if (context.workspace_root.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition, "no workspace is set for this call");
  }
  return Workspace::Open(context.workspace_root);
}

class ReadFileTool : public BasicTool {
 public:
  ReadFileTool()
      : BasicTool("read_file",
                  "Read a text file from the workspace. Large files are read in pieces with "
                  "offset and limit (bytes).",
                  ObjectSchema({{"path", kPathSchema},
                                {"offset", {{"type", "integer"}, {"minimum", 0}}},
                                {"limit", {{"type", "integer"}, {"minimum", 1}}}},
                               {"path"}),
                  EffectClass::kRead) {}

  Result<ToolResult> Invoke(const json& args, ToolContext& context) const override {
    auto workspace = OpenWorkspace(context);
    if (!workspace) return std::unexpected(workspace.error());
    const std::string& path = args["path"].get_ref<const std::string&>();
    int64_t offset = args.value("offset", int64_t{0});
    int64_t cap = std::min(context.limits.max_read_bytes, context.limits.max_output_bytes);
    int64_t limit = std::min(args.value("limit", cap), cap);
    Result<FileChunk> chunk = (*workspace)->Read(path, offset, limit);
    if (!chunk) return std::unexpected(chunk.error());
    ToolResult result;
    result.output = ToValidUtf8(chunk->data);
    int64_t end = chunk->offset + static_cast<int64_t>(chunk->data.size());
    if (end < chunk->file_size || chunk->offset > 0) {
      result.output +=
          fmt::format("\n[bytes {}-{} of {}{}]", chunk->offset, end, chunk->file_size,
                      end < chunk->file_size ? fmt::format("; continue with offset={}", end) : "");
    }
    result.data = {
        {"size", chunk->file_size}, {"offset", chunk->offset}, {"bytes", chunk->data.size()}};
    return result;
  }
};

class WriteFileTool : public BasicTool {
 public:
  WriteFileTool(std::string name, bool append)
      : BasicTool(
            std::move(name),
            append ? "Append text to a file in the workspace, creating it if absent."
                   : "Create or replace a file in the workspace with the given content "
                     "(parent directories are created).",
            ObjectSchema({{"path", kPathSchema},
                          {"content", {{"type", "string"}, {"description", "Text to write"}}}},
                         {"path", "content"}),
            EffectClass::kWriteWorkspace),
        append_(append) {}

  Result<ToolResult> Invoke(const json& args, ToolContext& context) const override {
    const std::string& path = args["path"].get_ref<const std::string&>();
    const std::string& content = args["content"].get_ref<const std::string&>();
    if (static_cast<int64_t>(content.size()) > context.limits.max_write_bytes) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "argument 'content' is {} bytes; at most {} may be written in one call",
                       content.size(), context.limits.max_write_bytes);
    }
    auto workspace = OpenWorkspace(context);
    if (!workspace) return std::unexpected(workspace.error());
    Status done =
        append_ ? (*workspace)->Append(path, content) : (*workspace)->Write(path, content);
    if (!done) return std::unexpected(done.error());
    ToolResult result;
    result.output = fmt::format("{} {} bytes to {}", append_ ? "appended" : "wrote", content.size(),
                                EscapeName(path));
    result.paths_written.push_back(path);
    return result;
  }

 private:
  bool append_;
};

class DeleteFileTool : public BasicTool {
 public:
  DeleteFileTool()
      : BasicTool("delete_file", "Delete a file, symlink or empty directory in the workspace.",
                  ObjectSchema({{"path", kPathSchema}}, {"path"}), EffectClass::kWriteWorkspace) {}

  Result<ToolResult> Invoke(const json& args, ToolContext& context) const override {
    const std::string& path = args["path"].get_ref<const std::string&>();
    auto workspace = OpenWorkspace(context);
    if (!workspace) return std::unexpected(workspace.error());
    if (Status done = (*workspace)->Delete(path); !done) return std::unexpected(done.error());
    ToolResult result;
    result.output = fmt::format("deleted {}", EscapeName(path));
    result.paths_written.push_back(path);
    return result;
  }
};

std::string_view KindName(DirEntry::Kind kind) {
  switch (kind) {
    case DirEntry::Kind::kFile:
      return "file";
    case DirEntry::Kind::kDirectory:
      return "directory";
    case DirEntry::Kind::kSymlink:
      return "symlink";
    case DirEntry::Kind::kOther:
      break;
  }
  return "other";
}

class ListFilesTool : public BasicTool {
 public:
  ListFilesTool()
      : BasicTool("list_files", "List the files under a workspace directory (default: the root).",
                  ObjectSchema(
                      {{"path", kPathSchema},
                       {"recursive", {{"type", "boolean"}}},
                       {"max_entries", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10000}}}},
                      {}),
                  EffectClass::kRead) {}

  Result<ToolResult> Invoke(const json& args, ToolContext& context) const override {
    auto workspace = OpenWorkspace(context);
    if (!workspace) return std::unexpected(workspace.error());
    std::string path = args.value("path", std::string("."));
    bool truncated = false;
    auto entries = (*workspace)
                       ->List(path, args.value("recursive", false),
                              args.value("max_entries", size_t{1000}), &truncated);
    if (!entries) return std::unexpected(entries.error());
    ToolResult result;
    result.data = json::array();
    for (const DirEntry& entry : *entries) {
      std::string name = EscapeName(entry.path);
      switch (entry.kind) {
        case DirEntry::Kind::kDirectory:
          result.output += name + "/\n";
          break;
        case DirEntry::Kind::kFile:
          result.output += fmt::format("{}  ({} bytes)\n", name, entry.size);
          break;
        default:
          result.output += fmt::format("{}  ({})\n", name, KindName(entry.kind));
      }
      result.data.push_back({{"path", name}, {"kind", KindName(entry.kind)}, {"size", entry.size}});
    }
    if (entries->empty()) result.output = "(empty)\n";
    if (truncated) result.output += "[listing truncated; narrow the path]\n";
    result.output = CapText(result.output, static_cast<size_t>(context.limits.max_output_bytes));
    return result;
  }
};

class SearchFilesTool : public BasicTool {
 public:
  SearchFilesTool()
      : BasicTool("search_files",
                  "Find workspace files by name (glob, e.g. \"*.csv\") and, with regex, the "
                  "lines inside them that match a POSIX extended regular expression.",
                  ObjectSchema(
                      {{"path", kPathSchema},
                       {"glob", {{"type", "string"}, {"maxLength", 1024}}},
                       {"regex", {{"type", "string"}, {"maxLength", 1024}}},
                       {"ignore_case", {{"type", "boolean"}}},
                       {"max_matches", {{"type", "integer"}, {"minimum", 1}, {"maximum", 5000}}}},
                      {}),
                  EffectClass::kRead) {}

  Result<ToolResult> Invoke(const json& args, ToolContext& context) const override {
    auto workspace = OpenWorkspace(context);
    if (!workspace) return std::unexpected(workspace.error());
    SearchOptions options;
    options.glob = args.value("glob", std::string("*"));
    options.regex = args.value("regex", std::string());
    options.ignore_case = args.value("ignore_case", false);
    options.max_matches = args.value("max_matches", size_t{200});
    options.max_file_bytes = context.limits.max_read_bytes;
    options.cancel = context.cancel;
    auto report = (*workspace)->Search(args.value("path", std::string(".")), options);
    if (!report) return std::unexpected(report.error());
    ToolResult result;
    result.data = json::array();
    for (const SearchMatch& match : report->matches) {
      std::string name = EscapeName(match.path);
      if (match.line == 0) {
        result.output += name + "\n";
      } else {
        result.output += fmt::format("{}:{}: {}\n", name, match.line, ToValidUtf8(match.text));
      }
      result.data.push_back(
          {{"path", name}, {"line", match.line}, {"text", ToValidUtf8(match.text)}});
    }
    if (report->matches.empty()) result.output = "no matches\n";
    if (report->truncated) result.output += "[more matches not shown]\n";
    if (report->skipped_files > 0) {
      result.output += fmt::format("[{} files skipped: binary, too large or hard-linked]\n",
                                   report->skipped_files);
    }
    result.output = CapText(result.output, static_cast<size_t>(context.limits.max_output_bytes));
    return result;
  }
};

}  // namespace

Status RegisterFileTools(Registry& registry) {
  std::unique_ptr<Tool> tools[] = {std::make_unique<ReadFileTool>(),
                                   std::make_unique<WriteFileTool>("write_file", false),
                                   std::make_unique<WriteFileTool>("append_file", true),
                                   std::make_unique<ListFilesTool>(),
                                   std::make_unique<SearchFilesTool>(),
                                   std::make_unique<DeleteFileTool>()};
  for (auto& tool : tools) {
    if (Status ok = registry.Register(std::move(tool)); !ok) return ok;
  }
  return {};
}

}  // namespace tandem::tools
