// TaskStore::Open and OpenTaskStore: choosing a backend.
#include "tandem/core/config.h"
#include "tandem/core/pg_connection.h"
#include "tandem/store/postgres_task_store.h"
#include "tandem/store/sqlite_task_store.h"
#include "tandem/store/task_store.h"

namespace tandem::store {

Result<std::unique_ptr<TaskStore>> TaskStore::Open(const std::filesystem::path& path) {
  Result<std::unique_ptr<SqliteTaskStore>> store = SqliteTaskStore::Open(path);
  if (!store) return std::unexpected(std::move(store.error()));
  return std::unique_ptr<TaskStore>(std::move(*store));
}

int TaskStore::SchemaVersion() {
  return SqliteTaskStore::SchemaVersion();
}

Result<std::unique_ptr<TaskStore>> OpenTaskStore(std::string_view location,
                                                 const std::filesystem::path& home) {
  if (pg::IsPostgresUrl(location)) {
    Result<std::unique_ptr<PostgresTaskStore>> store = PostgresTaskStore::Open(location);
    if (!store) return std::unexpected(std::move(store.error()));
    return std::unique_ptr<TaskStore>(std::move(*store));
  }
  if (location.find("://") != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "store '{}' is neither a postgres:// URL nor a file path",
                     location.substr(0, location.find("://") + 3));
  }
  std::filesystem::path path =
      location.empty() ? std::filesystem::path("tandem.db") : std::filesystem::path(location);
  return TaskStore::Open(path.is_absolute() ? path : home / path);
}

Result<std::unique_ptr<TaskStore>> OpenTaskStore(const Config& config) {
  Result<std::string> location = StoreLocation(config);
  if (!location) return std::unexpected(location.error());
  return OpenTaskStore(*location, config.home);
}

}  // namespace tandem::store
