// OpenMemoryStore: choosing the memory backend from the configuration.
#include "tandem/core/config.h"
#include "tandem/core/config_reader.h"
#include "tandem/core/pg_connection.h"
#include "tandem/memory/memory.h"
#include "tandem/memory/openai_embedder.h"
#include "tandem/memory/postgres_memory_store.h"

namespace tandem::memory {
namespace {

// The top-level `store` key (TANDEM_STORE sets it too); empty when absent.
Result<std::string> TaskStoreLocation(const Config& config) {
  if (config.document == nullptr) return std::string();
  Result<std::optional<std::string>> value = ConfigReader(*config.document, "").String("store");
  if (!value) return std::unexpected(value.error());
  return value->value_or("");
}

}  // namespace

Result<std::unique_ptr<MemoryStore>> OpenMemoryStore(const Config& config,
                                                     const StoreOptions& options,
                                                     std::unique_ptr<llm::Embedder> embedder) {
  Result<std::string> location = TaskStoreLocation(config);
  if (!location) return std::unexpected(location.error());
  if (!pg::IsPostgresUrl(*location)) {
    return MemoryStore::Open(MemoryDirectory(config), options, std::move(embedder));
  }
  auto store = PostgresMemoryStore::Open(*location, options, std::move(embedder));
  if (!store) return std::unexpected(store.error());
  return std::unique_ptr<MemoryStore>(std::move(*store));
}

Result<std::string> MemoryLocation(const Config& config) {
  Result<std::string> location = TaskStoreLocation(config);
  if (!location) return location;
  if (pg::IsPostgresUrl(*location)) return pg::RedactUrl(*location);
  return MemoryDirectory(config).string();
}

}  // namespace tandem::memory
