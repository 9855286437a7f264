// `tandem memory add|query|get|delete|compact|stats`: the embedded memory store from the terminal.
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "tandem/core/id.h"
#include "tandem/memory/memory.h"
#include "tandem/memory/openai_embedder.h"

namespace tandem::cli {
namespace {

using nlohmann::ordered_json;

struct MemoryFlags {
  std::string text;
  std::string id;
  std::string collection = "default";
  std::vector<std::string> meta;
  std::string where;
  int n_results = 10;
  bool json = false;
};

// "true"/"false" become booleans, numbers numbers, anything else a string.
nlohmann::json MetaValue(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  if (!text.empty()) {
    char* end = nullptr;
    double number = std::strtod(text.c_str(), &end);
    if (end == text.c_str() + text.size() && std::isfinite(number)) {
      nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
      if (!parsed.is_discarded() && parsed.is_number()) return parsed;
      return number;
    }
  }
  return text;
}

Result<nlohmann::json> ParseMeta(const std::vector<std::string>& pairs) {
  nlohmann::json meta = nlohmann::json::object();
  for (const std::string& pair : pairs) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return MakeError(ErrorCode::kInvalidArgument, "--meta '{}': expected KEY=VALUE", pair);
    }
    meta[pair.substr(0, eq)] = MetaValue(pair.substr(eq + 1));
  }
  return meta;
}

Result<nlohmann::json> ParseWhere(const std::string& text) {
  if (text.empty()) return nlohmann::json();
  nlohmann::json where = nlohmann::json::parse(text, nullptr, false);
  if (where.is_discarded()) {
    return MakeError(ErrorCode::kInvalidArgument, "--where is not valid JSON: {}", text);
  }
  if (Status valid = memory::ValidateWhere(where); !valid) return std::unexpected(valid.error());
  return where;
}

Result<std::unique_ptr<memory::MemoryStore>> OpenMemory(const Config& config, bool read_only) {
  auto embedder = memory::MakeConfiguredEmbedder(config);
  if (!embedder) return std::unexpected(embedder.error());
  return memory::OpenMemoryStore(config, {.read_only = read_only}, std::move(*embedder));
}

ordered_json HitJson(const memory::Hit& hit, bool ranked = true) {
  ordered_json out = {{"id", hit.id}, {"document", hit.document}, {"metadata", hit.metadata}};
  if (!ranked) return out;
  if (hit.distance) out["distance"] = *hit.distance;
  out["score"] = hit.score;
  if (hit.bm25) out["bm25"] = *hit.bm25;
  return out;
}

std::string Dump(const ordered_json& value) {
  return value.dump(2, ' ', false, ordered_json::error_handler_t::replace);
}

// Runs `body` with the configuration and an open store, reporting any error.
template <typename Body>
void WithMemory(CommandState& state, bool read_only, Body body) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  auto store = OpenMemory(*config, read_only);
  if (!store && !(read_only && store.error().code() == ErrorCode::kNotFound)) {
    state.exit_code = ReportError(store.error(), ExitCodeFor(store.error()));
    return;
  }
  Status status = body(*config, store ? store->get() : nullptr);
  if (!status) state.exit_code = ReportError(status.error(), ExitCodeFor(status.error()));
}

Status AddCommand(memory::MemoryStore& store, const MemoryFlags& flags) {
  auto meta = ParseMeta(flags.meta);
  if (!meta) return std::unexpected(meta.error());
  if (auto collection = store.GetOrCreateCollection(flags.collection, {}); !collection) {
    return std::unexpected(collection.error());
  }
  std::string id = flags.id.empty() ? NewId() : flags.id;
  if (Status added =
          store.Add(flags.collection, {{.id = id, .document = flags.text, .metadata = *meta}});
      !added) {
    return added;
  }
  fmt::print("{}\n", id);
  if (!store.has_embedder()) {
    fmt::print(stderr,
               "note: no embedder configured ([memory] embedder): stored for full-text "
               "search only\n");
  }
  return {};
}

Status QueryCommand(memory::MemoryStore* store, const MemoryFlags& flags) {
  auto where = ParseWhere(flags.where);
  if (!where) return std::unexpected(where.error());
  memory::QueryResult result;
  if (store == nullptr) {
    result.note = "memory is empty";
  } else {
    auto found = store->Query(
        flags.collection,
        {.text = flags.text, .n_results = static_cast<size_t>(flags.n_results), .where = *where});
    if (!found && found.error().code() == ErrorCode::kNotFound) {
      result.note = fmt::format("no collection named '{}'", flags.collection);
    } else if (!found) {
      return std::unexpected(found.error());
    } else {
      result = std::move(*found);
    }
  }
  if (flags.json) {
    ordered_json out = {{"results", ordered_json::array()},
                        {"used_vectors", result.used_vectors},
                        {"used_full_text", result.used_full_text}};
    for (const memory::Hit& hit : result.hits)
      out["results"].push_back(HitJson(hit));
    if (!result.note.empty()) out["note"] = result.note;
    fmt::print("{}\n", Dump(out));
    return {};
  }
  if (!result.note.empty()) fmt::print(stderr, "note: {}\n", result.note);
  if (result.hits.empty()) fmt::print("no matches\n");
  for (const memory::Hit& hit : result.hits) {
    std::string text =
        hit.document.size() > 100 ? hit.document.substr(0, 97) + "..." : hit.document;
    fmt::print("{:.4f}  {}  {}\n", hit.score, hit.id, text);
  }
  return {};
}

Status GetCommand(memory::MemoryStore* store, const MemoryFlags& flags) {
  Result<std::vector<memory::Hit>> hits = std::vector<memory::Hit>();
  if (store != nullptr) {
    hits = store->Get(flags.collection, {.selection = {.ids = {flags.id}}});
    if (!hits && hits.error().code() != ErrorCode::kNotFound) return std::unexpected(hits.error());
  }
  if (!hits || hits->empty()) {
    return MakeError(ErrorCode::kNotFound, "no memory with id '{}' in collection '{}'", flags.id,
                     flags.collection);
  }
  fmt::print("{}\n", Dump(HitJson(hits->front(), /*ranked=*/false)));
  return {};
}

Status DeleteCommand(memory::MemoryStore& store, const MemoryFlags& flags) {
  auto where = ParseWhere(flags.where);
  if (!where) return std::unexpected(where.error());
  memory::Selection selection{.where = *where};
  if (!flags.id.empty()) selection.ids = {flags.id};
  auto deleted = store.Delete(flags.collection, selection);
  if (!deleted) return std::unexpected(deleted.error());
  fmt::print("deleted {}\n", *deleted);
  return {};
}

Status StatsCommand(memory::MemoryStore* store, const Config& config, const MemoryFlags& flags) {
  memory::StoreStats stats;
  if (store == nullptr) {
    auto location = memory::MemoryLocation(config);
    if (!location) return std::unexpected(location.error());
    stats.location = std::move(*location);
  } else {
    auto found = store->Stats();
    if (!found) return std::unexpected(found.error());
    stats = std::move(*found);
  }
  ordered_json out = {
      {"location", stats.location},
      {"embedder", stats.has_embedder ? ordered_json(stats.embedder_model) : ordered_json(nullptr)},
      {"mode", stats.has_embedder ? "hybrid" : "full_text"},
      {"disk_bytes", stats.disk_bytes},
      {"collections", ordered_json::array()}};
  for (const memory::CollectionInfo& c : stats.collections) {
    out["collections"].push_back({{"name", c.name},
                                  {"count", c.count},
                                  {"vectors", c.vector_count},
                                  {"distance", memory::DistanceName(c.options.distance)},
                                  {"embedding_model", c.embedding_model},
                                  {"dimension", c.dimension}});
  }
  if (flags.json) {
    fmt::print("{}\n", Dump(out));
    return {};
  }
  fmt::print("memory: {}\nmode: {}\ndisk: {} bytes\n", stats.location,
             stats.has_embedder ? "hybrid (embedder " + stats.embedder_model + ")"
                                : std::string("full text only (no [memory] embedder)"),
             stats.disk_bytes);
  for (const memory::CollectionInfo& c : stats.collections) {
    fmt::print(
        "collection {}: {} records, {} vectors, {} distance{}\n", c.name, c.count, c.vector_count,
        memory::DistanceName(c.options.distance),
        c.dimension > 0 ? fmt::format(", {} ({} dims)", c.embedding_model, c.dimension) : "");
  }
  return {};
}

}  // namespace

void AddMemoryCommands(CLI::App& app, CommandState& state) {
  // Shared with the callbacks, which run after this function returns.
  auto flags = std::make_shared<MemoryFlags>();
  CLI::App* memory = app.add_subcommand("memory", "Store and search memories (text + vectors)");
  memory->require_subcommand(1);
  auto collection_option = [&](CLI::App* command) {
    command->add_option("--collection", flags->collection, "Collection (default: default)");
  };

  CLI::App* add = memory->add_subcommand("add", "Add a memory; prints its id");
  add->add_option("text", flags->text, "The text to remember")->required();
  add->add_option("--id", flags->id, "Id (default: a new time-sortable id)");
  add->add_option("--meta", flags->meta, "Metadata KEY=VALUE (repeatable)");
  collection_option(add);
  add->callback([&state, flags] {
    WithMemory(state, false, [&](const Config&, memory::MemoryStore* store) {
      return AddCommand(*store, *flags);
    });
  });

  CLI::App* query = memory->add_subcommand("query", "Search memories by meaning and words");
  query->add_option("text", flags->text, "What to look for")->required();
  query->add_option("-n", flags->n_results, "How many results")->check(CLI::Range(1, 10000));
  query->add_option("--where", flags->where, "Metadata filter (JSON, ChromaDB syntax)");
  query->add_flag("--json", flags->json, "Print JSON");
  collection_option(query);
  query->callback([&state, flags] {
    WithMemory(state, true, [&](const Config&, memory::MemoryStore* store) {
      return QueryCommand(store, *flags);
    });
  });

  CLI::App* get = memory->add_subcommand("get", "Show one memory as JSON");
  get->add_option("id", flags->id, "Id")->required();
  collection_option(get);
  get->callback([&state, flags] {
    WithMemory(state, true, [&](const Config&, memory::MemoryStore* store) {
      return GetCommand(store, *flags);
    });
  });

  CLI::App* remove = memory->add_subcommand("delete", "Delete memories by id or filter");
  CLI::Option* id_option = remove->add_option("--id", flags->id, "Id to delete");
  CLI::Option* where_option =
      remove->add_option("--where", flags->where, "Delete every memory matching (JSON)");
  id_option->excludes(where_option);
  collection_option(remove);
  remove->callback([&state, flags] {
    if (flags->id.empty() && flags->where.empty()) {
      state.exit_code = ReportError(
          Error(ErrorCode::kInvalidArgument, "memory delete needs --id ID or --where JSON"),
          kExitUsage);
      return;
    }
    WithMemory(state, false, [&](const Config&, memory::MemoryStore* store) {
      return DeleteCommand(*store, *flags);
    });
  });

  CLI::App* compact = memory->add_subcommand(
      "compact", "Rebuild indexes and erase every trace of deleted memories from disk");
  compact->callback([&state] {
    WithMemory(state, false, [](const Config&, memory::MemoryStore* store) -> Status {
      if (Status done = store->Compact(); !done) return done;
      fmt::print("compacted\n");
      return {};
    });
  });

  CLI::App* stats = memory->add_subcommand("stats", "Collections, sizes and search mode");
  stats->add_flag("--json", flags->json, "Print JSON");
  stats->callback([&state, flags] {
    WithMemory(state, true, [&](const Config& config, memory::MemoryStore* store) {
      return StatsCommand(store, config, *flags);
    });
  });
}

}  // namespace tandem::cli
