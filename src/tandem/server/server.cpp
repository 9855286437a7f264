#include "tandem/server/server.h"

#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "tandem/core/config_reader.h"
#include "tandem/server/cluster_executor.h"
#include "tandem/server/server_impl.h"

namespace tandem::server {
namespace {

using nlohmann::ordered_json;

bool IsStateChanging(const std::string& method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

// The value of cookie `name` in a Cookie header, or "".
std::string CookieValue(const std::string& header, std::string_view name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string_view part(header.data() + pos, end - pos);
    while (!part.empty() && part.front() == ' ')
      part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name &&
        part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
    pos = end + 1;
  }
  return "";
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<int64_t> ReadInt(const ConfigReader& reader, std::string_view key, int64_t fallback,
                        int64_t min, int64_t max) {
  Result<std::optional<int64_t>> value = reader.Integer(key);
  if (!value) return std::unexpected(value.error());
  int64_t v = value->value_or(fallback);
  if (v < min || v > max) {
    return std::unexpected(reader.ErrorAt(key, fmt::format("must be in [{}, {}]", min, max)));
  }
  return v;
}

}  // namespace

void SendJson(httplib::Response& res, int status, const ordered_json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, ordered_json::error_handler_t::replace),
                  "application/json");
}

void SendError(httplib::Response& res, int status, std::string_view code,
               std::string_view message) {
  SendJson(res, status, {{"error", {{"code", code}, {"message", message}}}});
}

void SendError(httplib::Response& res, const Error& error) {
  int status = 500;
  switch (error.code()) {
    case ErrorCode::kInvalidArgument:
      status = 400;
      break;
    case ErrorCode::kNotFound:
      status = 404;
      break;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
      status = 409;
      break;
    case ErrorCode::kPermissionDenied:
      status = 403;
      break;
    case ErrorCode::kUnauthenticated:
      status = 401;
      break;
    case ErrorCode::kRateLimited:
      status = 429;
      break;
    case ErrorCode::kUnavailable:
      status = 503;
      break;
    default:
      break;
  }
  SendError(res, status, ErrorCodeName(error.code()), error.message());
}

Status ParseListen(std::string_view listen, ServerOptions& options) {
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "listen address '{}' is not ADDR:PORT", listen);
  }
  std::string host(listen.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  std::string_view digits = listen.substr(colon + 1);
  if (digits.empty() || digits.size() > 5) {
    return MakeError(ErrorCode::kInvalidArgument, "listen address '{}' has no valid port", listen);
  }
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return MakeError(ErrorCode::kInvalidArgument, "listen address '{}' has no valid port",
                       listen);
    }
    port = port * 10 + (c - '0');
  }
  if (port > 65535) {
    return MakeError(ErrorCode::kInvalidArgument, "port {} is out of range", port);
  }
  options.host = std::move(host);
  options.port = port;
  return {};
}

Result<ServerOptions> ReadServerOptions(const Config& config) {
  ServerOptions options;
  options.max_steps = config.agent.max_steps;
  const toml::table* section =
      config.document ? ConfigReader(*config.document, "").Table("server") : nullptr;
  if (section == nullptr) return options;
  ConfigReader reader(*section, "server");
  if (Status known = reader.CheckKnownKeys(
          {"listen", "max_body_bytes", "read_timeout_s", "write_timeout_s", "http_threads",
           "workers", "cookie_secure", "session_hours", "max_failed_logins",
           "failed_login_delay_ms", "approval_timeout_s", "run_tasks"});
      !known) {
    return std::unexpected(known.error());
  }
  Result<std::optional<std::string>> listen = reader.String("listen");
  if (!listen) return std::unexpected(listen.error());
  if (*listen) {
    if (Status parsed = ParseListen(**listen, options); !parsed) {
      return std::unexpected(reader.ErrorAt("listen", parsed.error().message()));
    }
  }
  struct IntKey {
    std::string_view key;
    int64_t fallback, min, max;
    std::function<void(int64_t)> set;
  };
  const IntKey keys[] = {
      {"max_body_bytes", int64_t{1} << 20, 1024, int64_t{1} << 30,
       [&](int64_t v) { options.max_body_bytes = static_cast<size_t>(v); }},
      {"read_timeout_s", 30, 1, 3600, [&](int64_t v) { options.read_timeout_s = int(v); }},
      {"write_timeout_s", 30, 1, 3600, [&](int64_t v) { options.write_timeout_s = int(v); }},
      {"http_threads", 32, 2, 1024, [&](int64_t v) { options.http_threads = int(v); }},
      {"workers", 2, 1, 256, [&](int64_t v) { options.workers = int(v); }},
      {"session_hours", 12, 1, 24 * 90,
       [&](int64_t v) { options.auth.session_ttl_ms = v * 3600 * 1000; }},
      {"max_failed_logins", 5, 1, 1000,
       [&](int64_t v) { options.auth.max_failed_logins = int(v); }},
      {"failed_login_delay_ms", 500, 0, 10000,
       [&](int64_t v) { options.auth.failed_login_delay_ms = v; }},
      {"approval_timeout_s", 3600, 1, 30 * 24 * 3600,
       [&](int64_t v) { options.approval_timeout_s = int(v); }},
  };
  for (const IntKey& key : keys) {
    Result<int64_t> value = ReadInt(reader, key.key, key.fallback, key.min, key.max);
    if (!value) return std::unexpected(value.error());
    key.set(*value);
  }
  Result<std::optional<bool>> secure = reader.Boolean("cookie_secure");
  if (!secure) return std::unexpected(secure.error());
  options.cookie_secure = secure->value_or(false);
  Result<std::optional<std::string>> run_tasks = reader.String("run_tasks");
  if (!run_tasks) return std::unexpected(run_tasks.error());
  if (*run_tasks && **run_tasks != "here" && **run_tasks != "workers") {
    return std::unexpected(reader.ErrorAt(
        "run_tasks", fmt::format("must be \"here\" or \"workers\", not \"{}\"", **run_tasks)));
  }
  options.run_on_workers = *run_tasks && **run_tasks == "workers";
  return options;
}

std::unique_ptr<TaskExecutor> Server::Impl::MakeExecutor() {
  if (options_.run_on_workers) {
    return std::make_unique<ClusterExecutor>(deps_.store,
                                             deps_.clock ? deps_.clock : &SystemClock());
  }
  return std::make_unique<TaskRunner>(
      TaskRunnerDeps{.store = deps_.store,
                     .models = deps_.models,
                     .tools = deps_.tools,
                     .policy = deps_.policy,
                     .approvals = &approvals_,
                     .tools_config = deps_.tools_config,
                     .memory = deps_.memory,
                     .memory_options = deps_.memory_options,
                     .context_tokens = deps_.context_tokens,
                     .on_task_end = [this](const std::string&) { scheduler_->Wake(); }},
      options_.workers);
}

Server::Impl::Impl(ServerDeps deps, ServerOptions options)
    : deps_(std::move(deps)),
      options_(std::move(options)),
      auth_(deps_.store, options_.auth),
      approvals_({.timeout = std::chrono::seconds(options_.approval_timeout_s)}),
      runner_(MakeExecutor()),
      scheduler_(std::make_unique<schedule::Scheduler>(
          deps_.store, this, deps_.clock ? deps_.clock : &SystemClock(), options_.scheduler)) {
  int threads = options_.http_threads;
  http_.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  // httplib 0.11 (Debian's build) listens with a backlog of 5: a burst of connections (many
  // event streams opening at once) overflows it, and the kernel drops SYNs that clients retry
  // only after a second. Start() raises it on the socket remembered here.
  http_.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = sock;
  });
  http_.set_payload_max_length(options_.max_body_bytes);
  http_.set_read_timeout(options_.read_timeout_s, 0);
  http_.set_write_timeout(options_.write_timeout_s, 0);
  http_.set_keep_alive_timeout(5);
  http_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty() && req.path.starts_with("/v1/")) {  // OpenAI's error shape.
      SendJson(res, res.status,
               {{"error",
                 {{"message", res.status == 413 ? "the request body is too large (max_body_bytes)"
                                                : "no such endpoint"},
                  {"type", "invalid_request_error"},
                  {"param", nullptr},
                  {"code", res.status == 413 ? "payload_too_large" : "not_found"}}}});
    } else if (res.body.empty()) {
      SendError(res, res.status, res.status == 413 ? "payload_too_large" : "not_found",
                res.status == 413 ? "the request body is too large" : "no such endpoint");
    }
  });
  http_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    // Routed requests are logged by Route() with their latency; this catches the rest.
    if (res.status == 404 || res.status == 413 || res.status == 400) {
      spdlog::info("http {} {} {} {}", req.remote_addr, req.method, req.path, res.status);
    }
  });
  AddPlumbingRoutes();
  AddTaskRoutes();
  AddAgentProtocolRoutes();
  AddApprovalRoutes();
  AddOpenAiRoutes();
  AddViewRoutes();
  AddScheduleRoutes();
  AddWebUiRoutes();
}

std::optional<Principal> Server::Impl::Authenticate(const httplib::Request& req,
                                                    httplib::Response& res, Access access) {
  Result<std::optional<Principal>> principal = std::optional<Principal>();
  std::string authorization = req.get_header_value("Authorization");
  std::string session = CookieValue(req.get_header_value("Cookie"), kSessionCookie);
  if (authorization.rfind("Bearer ", 0) == 0) {
    principal = auth_.FromApiToken(authorization.substr(7));
  } else if (!session.empty()) {
    principal = auth_.FromSession(session);
  }
  if (!principal) {
    SendError(res, principal.error());
    return std::nullopt;
  }
  if (!*principal) {
    res.set_header("WWW-Authenticate", "Bearer");
    SendError(res, 401, "unauthenticated",
              authorization.empty() && session.empty() ? "sign in or send a bearer token"
                                                       : "the token or session is not valid");
    return std::nullopt;
  }
  const Principal& who = **principal;
  if (who.via_cookie && IsStateChanging(req.method) &&
      !ConstantTimeEquals(req.get_header_value("X-CSRF-Token"), who.csrf_token)) {
    SendError(res, 403, "csrf", "missing or wrong X-CSRF-Token header");
    return std::nullopt;
  }
  Role needed = access == Access::kAdmin    ? Role::kAdmin
                : access == Access::kMember ? Role::kMember
                                            : Role::kViewer;
  if (static_cast<int>(who.role) < static_cast<int>(needed)) {
    SendError(res, 403, "permission_denied",
              fmt::format("this needs the {} role; {} is {}", RoleName(needed), who.user,
                          RoleName(who.role)));
    return std::nullopt;
  }
  return who;
}

void Server::Impl::Route(const std::string& method, const std::string& pattern,
                         const std::string& name, Access access, Handler handler) {
  auto wrapped = [this, method, name, access, handler = std::move(handler)](
                     const httplib::Request& req, httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    std::string user = "-";
    if (access == Access::kPublic) {
      handler(req, res, Principal{});
    } else if (std::optional<Principal> who = Authenticate(req, res, access)) {
      user = who->user;
      handler(req, res, *who);
    }
    if (res.status == -1) res.status = 200;  // httplib's default, made visible to the log.
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_.ObserveRequest(method, name, res.status, seconds);
    spdlog::info("http {} {} {} {} {} {:.1f}ms", req.remote_addr, user, method, req.path,
                 res.status, seconds * 1000);
  };
  if (method == "GET") {
    http_.Get(pattern, wrapped);
  } else if (method == "POST") {
    http_.Post(pattern, wrapped);
  } else if (method == "DELETE") {
    http_.Delete(pattern, wrapped);
  }
}

void Server::Impl::AddPlumbingRoutes() {
  Route("GET", "/healthz", "/healthz", Access::kPublic,
        [](const httplib::Request&, httplib::Response& res, const Principal&) {
          res.set_content("ok\n", "text/plain");
        });
  Route("GET", "/readyz", "/readyz", Access::kPublic,
        [this](const httplib::Request&, httplib::Response& res, const Principal&) {
          if (stopping_) {
            res.status = 503;
            res.set_content("shutting down\n", "text/plain");
            return;
          }
          Result<std::optional<store::TaskRecord>> probe = deps_.store->GetTask("");
          res.status = probe ? 200 : 503;
          res.set_content(probe ? "ready\n" : "store unreachable\n", "text/plain");
        });
  Route("GET", "/metrics", "/metrics", Access::kViewer,
        [this](const httplib::Request&, httplib::Response& res, const Principal&) {
          Result<store::StoreTotals> totals = deps_.store->Totals();
          if (!totals) return SendError(res, totals.error());
          auto [running, queued] = runner_->Counts();
          metrics_.SetTasksRunning(running, queued);
          res.set_content(metrics_.Render(*totals), "text/plain; version=0.0.4");
        });
  Route("POST", "/api/login", "/api/login", Access::kPublic,
        [this](const httplib::Request& req, httplib::Response& res, const Principal&) {
          nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
          if (!body.is_object() || !body.contains("user") || !body["user"].is_string() ||
              !body.contains("password") || !body["password"].is_string()) {
            return SendError(res, 400, "invalid_argument",
                             "send {\"user\": ..., \"password\": ...}");
          }
          Result<LoginResult> login =
              auth_.Login(body["user"].get<std::string>(), body["password"].get<std::string>());
          if (!login) return SendError(res, login.error());
          metrics_.CountLogin(login->outcome == LoginResult::Outcome::kOk);
          if (login->outcome == LoginResult::Outcome::kLockedOut) {
            return SendError(res, 429, "rate_limited",
                             "too many failed sign-ins for this user; try again later");
          }
          if (login->outcome == LoginResult::Outcome::kRejected) {
            return SendError(res, 401, "unauthenticated", "wrong user name or password");
          }
          res.set_header(
              "Set-Cookie",
              fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}", kSessionCookie,
                          login->session_token, options_.auth.session_ttl_ms / 1000,
                          options_.cookie_secure ? "; Secure" : ""));
          SendJson(res, 200,
                   {{"user", login->principal.user},
                    {"role", RoleName(login->principal.role)},
                    {"csrf_token", login->principal.csrf_token}});
        });
  Route("POST", "/api/logout", "/api/logout", Access::kViewer,
        [this](const httplib::Request& req, httplib::Response& res, const Principal&) {
          std::string session = CookieValue(req.get_header_value("Cookie"), kSessionCookie);
          if (!session.empty()) {
            if (Status out = auth_.Logout(session); !out) return SendError(res, out.error());
          }
          res.set_header("Set-Cookie", fmt::format("{}=; Path=/; HttpOnly; SameSite=Strict; "
                                                   "Max-Age=0",
                                                   kSessionCookie));
          SendJson(res, 200, {{"signed_out", true}});
        });
  Route("GET", "/api/me", "/api/me", Access::kViewer,
        [](const httplib::Request&, httplib::Response& res, const Principal& who) {
          SendJson(res, 200, {{"user", who.user}, {"role", RoleName(who.role)}});
        });
}

Status Server::Impl::Start() {
  if (options_.port == 0) {
    port_ = http_.bind_to_any_port(options_.host);
  } else {
    port_ = http_.bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (port_ < 0) {
    return MakeError(ErrorCode::kUnavailable, "cannot listen on {}:{}", options_.host,
                     options_.port);
  }
  // Linux lets listen() be called again on a listening socket to change its backlog.
  if (listen_socket_ >= 0 && ::listen(listen_socket_, SOMAXCONN) != 0) {
    spdlog::warn("cannot raise the listen backlog: {}", std::strerror(errno));
  }
  thread_ = std::thread([this] { http_.listen_after_bind(); });
  // httplib's stop() does nothing until the listen loop has started, so a Stop() right after
  // Start() would leave the loop running and the join hanging: wait for the loop (it starts at
  // once; the bound only guards against a loop that ended before it was seen).
  for (int i = 0; i < 5000 && !http_.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  scheduler_->Start();
  spdlog::info("serving on http://{}:{}", options_.host, port_);
  return {};
}

void Server::Impl::Stop() {
  if (stopping_.exchange(true)) return;
  spdlog::info("shutting down: stopping running tasks at a safe point");
  scheduler_->Stop();  // Starts nothing more; then the runner stops what runs.
  runner_->Shutdown();
  http_.stop();
  if (thread_.joinable()) thread_.join();
  spdlog::info("server stopped");
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  Stop();
}

Result<std::unique_ptr<Server>> Server::Create(ServerDeps deps, ServerOptions options) {
  if (deps.store == nullptr || deps.models == nullptr || deps.tools == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "the server needs a store, models and tools");
  }
  if (deps.home.empty()) return MakeError(ErrorCode::kInvalidArgument, "the server needs a home");
  return std::unique_ptr<Server>(
      new Server(std::make_unique<Impl>(std::move(deps), std::move(options))));
}

Status Server::Start() {
  return impl_->Start();
}

int Server::port() const {
  return impl_->port();
}

void Server::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace tandem::server
