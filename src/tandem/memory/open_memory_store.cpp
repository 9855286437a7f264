// OpenMemoryStore: choosing the memory backend from the configuration.
#include "tandem/core/config.h"
#include "tandem/core/pg_connection.h"
#include "tandem/memory/memory.h"
#include "tandem/memory/openai_embedder.h"
#include "tandem/memory/postgres_memory_store.h"

namespace tandem::memory {
Result<std::unique_ptr<MemoryStore>> OpenMemoryStore(const Config& config,
                                                     const StoreOptions& options,
                                                     std::unique_ptr<llm::Embedder> embedder) {
  Result<std::string> location = StoreLocation(config);
  if (!location) return std::unexpected(location.error());
  if (!pg::IsPostgresUrl(*location)) {
    return MemoryStore::Open(MemoryDirectory(config), options, std::move(embedder));
  }
  auto store = PostgresMemoryStore::Open(*location, options, std::move(embedder));
  if (!store) return std::unexpected(store.error());
  return std::unique_ptr<MemoryStore>(std::move(*store));
}

Result<std::string> MemoryLocation(const Config& config) {
  Result<std::string> location = StoreLocation(config);
  if (!location) return location;
  if (pg::IsPostgresUrl(*location)) return pg::RedactUrl(*location);
  return MemoryDirectory(config).string();
}

}  // namespace tandem::memory
