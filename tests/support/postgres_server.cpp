#include "support/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "support/free_port.h"

namespace tandem::testing {
namespace {

namespace fs = std::filesystem;

// Who the server runs as: ourselves, or `nobody` when we are root.
struct RunAs {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

Result<RunAs> ServerUser() {
  if (geteuid() != 0) return RunAs{};
  struct passwd* pw = getpwnam("nobody");
  if (pw == nullptr) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "running as root and there is no 'nobody' user to run PostgreSQL as");
  }
  return RunAs{.switch_user = true, .uid = pw->pw_uid, .gid = pw->pw_gid};
}

// Starts argv as `user` in `dir`, output appended to `log`. Between fork and exec the child only
// makes async-signal-safe calls. With `die_with_parent`, the kernel sends SIGQUIT (PostgreSQL's
// immediate shutdown) when this process ends, even by a crash.
pid_t Spawn(const std::vector<std::string>& argv, const RunAs& user, const fs::path& dir,
            const fs::path& log, bool die_with_parent) {
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::string dir_text = dir.string();
  std::string log_text = log.string();
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  if (user.switch_user) {
    if (setgroups(0, nullptr) != 0 || setgid(user.gid) != 0 || setuid(user.uid) != 0) _exit(126);
  }
  // Set after the user switch, which clears it.
  if (die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || getppid() != parent)) {
    _exit(126);
  }
  if (chdir(dir_text.c_str()) != 0) _exit(126);
  int out = open(log_text.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  int in = open("/dev/null", O_RDONLY);
  if (out < 0 || in < 0) _exit(126);
  dup2(in, 0);
  dup2(out, 1);
  dup2(out, 2);
  execv(args[0], args.data());
  _exit(127);
}

std::string Tail(const fs::path& path, size_t max_bytes = 2000) {
  std::string text = ReadFile(path);
  return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

// A loopback port nobody listens on right now (the server may still lose a race for it; Start
// retries).
Result<int> FreePort() {
  int port = FreeLoopbackPort();
  if (port < 0) return MakeError(ErrorCode::kUnavailable, "no free loopback port");
  return port;
}

// Waits for `pid` to exit, up to `timeout`; true when it did.
bool WaitExit(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    pid_t done = waitpid(pid, status, WNOHANG);
    if (done == pid || done < 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

std::optional<fs::path> PostgresServer::FindBinaries() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("TANDEM_PG_BINDIR"); env != nullptr && *env != '\0') {
    candidates.emplace_back(env);
  }
  candidates.emplace_back("/usr/lib/postgresql/15/bin");
  for (const fs::path& dir : candidates) {
    if (access((dir / "initdb").c_str(), X_OK) == 0 &&
        access((dir / "postgres").c_str(), X_OK) == 0) {
      return dir;
    }
  }
  return std::nullopt;
}

Result<std::unique_ptr<PostgresServer>> PostgresServer::Start(
    const fs::path& bin_dir, const std::vector<std::string>& settings) {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  if (Status launched = server->Launch(bin_dir, settings); !launched) {
    return std::unexpected(launched.error());
  }
  return server;
}

Status PostgresServer::Launch(const fs::path& bin_dir, const std::vector<std::string>& settings) {
  Result<RunAs> user = ServerUser();
  if (!user) return std::unexpected(user.error());
  if (user->switch_user && chown(dir_.path().c_str(), user->uid, user->gid) != 0) {
    return MakeError(ErrorCode::kFailedPrecondition, "cannot hand {} to the nobody user",
                     dir_.path().string());
  }
  fs::path data = dir_.path() / "data";
  fs::path log = dir_.path() / "server.log";
  pid_t initdb = Spawn({(bin_dir / "initdb").string(), "-D", data.string(), "-U", "tandem", "-A",
                        "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                       *user, dir_.path(), dir_.path() / "initdb.log", false);
  int status = 0;
  if (initdb < 0 || waitpid(initdb, &status, 0) != initdb || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return MakeError(ErrorCode::kInternal, "initdb failed: {}", Tail(dir_.path() / "initdb.log"));
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    Result<int> port = FreePort();
    if (!port) return std::unexpected(port.error());
    port_ = *port;
    // fsync, full-page writes and synchronous commit are off: the cluster is thrown away, so
    // crash safety buys nothing and costs most of a test's time on a busy disk.
    std::vector<std::string> argv = {(bin_dir / "postgres").string(),
                                     "-D",
                                     data.string(),
                                     "-h",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port_),
                                     "-k",
                                     dir_.path().string(),
                                     "-F",
                                     "-c",
                                     "full_page_writes=off",
                                     "-c",
                                     "synchronous_commit=off",
                                     "-c",
                                     "shared_buffers=16MB",
                                     "-c",
                                     "max_connections=60",
                                     "-c",
                                     "dynamic_shared_memory_type=mmap"};
    for (const std::string& setting : settings) {
      argv.push_back("-c");
      argv.push_back(setting);
    }
    pid_ = Spawn(argv, *user, dir_.path(), log, true);
    if (pid_ < 0) return MakeError(ErrorCode::kInternal, "fork failed");
    std::string conninfo = fmt::format("host=127.0.0.1 port={} dbname=postgres user=tandem", port_);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      if (PQping(conninfo.c_str()) == PQPING_OK) {
        admin_ = PQconnectdb(conninfo.c_str());
        if (PQstatus(admin_) == CONNECTION_OK) return {};
        return MakeError(ErrorCode::kInternal, "cannot connect to the test server: {}",
                         PQerrorMessage(admin_));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return MakeError(ErrorCode::kDeadlineExceeded, "postgres did not start in 60 s: {}",
                       Tail(log));
    }
    // It exited: most likely another process took the port in between. Try another.
  }
  return MakeError(ErrorCode::kInternal, "postgres would not start: {}", Tail(log));
}

PostgresServer::~PostgresServer() {
  if (admin_ != nullptr) PQfinish(admin_);
  if (pid_ > 0) {
    int status = 0;
    kill(pid_, SIGINT);  // Fast shutdown: disconnects clients, no checkpoint wait for them.
    if (!WaitExit(pid_, std::chrono::seconds(20), &status)) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  // dir_ (cluster, socket, logs) is removed after this body.
}

std::string PostgresServer::Url(std::string_view database) const {
  return fmt::format("postgres://tandem@127.0.0.1:{}/{}", port_, database);
}

Result<std::string> PostgresServer::CreateDatabase() {
  std::lock_guard lock(mu_);
  std::string name = fmt::format("test_{}", ++n_databases_);
  PGresult* result = PQexec(admin_, fmt::format("CREATE DATABASE {}", name).c_str());
  bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string why = ok ? "" : PQresultErrorMessage(result);
  PQclear(result);
  if (!ok) return MakeError(ErrorCode::kInternal, "CREATE DATABASE {} failed: {}", name, why);
  return Url(name);
}

Result<PostgresServer*> SharedPostgresServer() {
  // Started once per test binary; destroyed (server stopped, directory removed) at exit.
  static std::unique_ptr<PostgresServer> server;
  static std::optional<Error> failure;
  static std::once_flag once;
  std::call_once(once, [] {
    std::optional<fs::path> bin_dir = PostgresServer::FindBinaries();
    if (!bin_dir) {
      failure = Error(ErrorCode::kNotFound,
                      "PostgreSQL 15 is not installed (no initdb/postgres in "
                      "/usr/lib/postgresql/15/bin or $TANDEM_PG_BINDIR); run scripts/setup");
      return;
    }
    Result<std::unique_ptr<PostgresServer>> started = PostgresServer::Start(*bin_dir);
    if (started) {
      server = std::move(*started);
    } else {
      failure = started.error();
    }
  });
  if (failure) return std::unexpected(*failure);
  return server.get();
}

Result<std::string> CreateTestDatabase() {
  Result<PostgresServer*> server = SharedPostgresServer();
  if (!server) return std::unexpected(server.error());
  return (*server)->CreateDatabase();
}

}  // namespace tandem::testing
