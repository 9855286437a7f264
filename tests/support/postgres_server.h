// A throwaway PostgreSQL server for tests: initdb into a temporary directory, then postgres on a
// free loopback port (its socket in that directory too), fsync off. Stopped and removed on
// destruction; if the test process dies first, the server gets SIGQUIT from the kernel (parent
// death signal) and shuts down on its own. PostgreSQL refuses to run as root, so when the tests run
// as root the server runs as the `nobody` user (present on every Debian system).
//
//   auto server = tandem::testing::SharedPostgresServer();
//   if (!server && server.error().code() == ErrorCode::kNotFound) GTEST_SKIP() << ...;
//   std::string url = *(*server)->CreateDatabase();   // a fresh, empty database
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/temp_dir.h"
#include "tandem/core/error.h"

typedef struct pg_conn PGconn;

namespace tandem::testing {

class PostgresServer {
 public:
  // The folder holding initdb and postgres: $TANDEM_PG_BINDIR, else Debian's
  // /usr/lib/postgresql/15/bin; nullopt when neither has them.
  static std::optional<std::filesystem::path> FindBinaries();
  // Creates a cluster and starts its server; fails naming the step and the server's log tail.
  // `settings` ("name=value") are added to the server's command line (benchmarks load
  // pg_stat_statements, or turn fsync back on).
  static Result<std::unique_ptr<PostgresServer>> Start(
      const std::filesystem::path& bin_dir, const std::vector<std::string>& settings = {});
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // URL of `database` for the superuser "tandem" (no password: loopback trust).
  std::string Url(std::string_view database = "postgres") const;
  // Creates a new, empty database and returns its URL. Thread-safe.
  Result<std::string> CreateDatabase();
  int port() const { return port_; }
  // The postmaster's pid.
  pid_t pid() const { return pid_; }

 private:
  PostgresServer() = default;
  Status Launch(const std::filesystem::path& bin_dir, const std::vector<std::string>& settings);

  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::mutex mu_;
  PGconn* admin_ = nullptr;  // GUARDED_BY(mu_): connection that creates databases.
  int n_databases_ = 0;      // GUARDED_BY(mu_)
};

// The test binary's one server, started on first use and stopped at exit. kNotFound when
// PostgreSQL is not installed (tests skip); other errors when it is but will not start (tests
// fail).
Result<PostgresServer*> SharedPostgresServer();

// A new, empty database on SharedPostgresServer(), as its URL. kNotFound when PostgreSQL is not
// installed (the caller skips):
//   auto url = testing::CreateTestDatabase();
//   if (!url && url.error().code() == ErrorCode::kNotFound) GTEST_SKIP() << ...;
Result<std::string> CreateTestDatabase();

}  // namespace tandem::testing
