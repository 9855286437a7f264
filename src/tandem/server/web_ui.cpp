// The web UI: the embedded single-page app at `/` (client routes answer with index.html) and
// its hashed files under /assets/, all with a strict Content-Security-Policy.
#include <algorithm>

#include "tandem/server/server_impl.h"
#include "tandem/server/web_assets.h"

namespace tandem::server {
namespace {

// No inline script or style, no third-party origin, no framing: the app is files from here only.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

// Client-side routes of the app; each answers with index.html so a reload or a shared link
// lands on the right page.
constexpr std::string_view kClientRoutes =
    "/(login|tasks|tasks/[A-Za-z0-9_-]+|new|schedules|cost|audit|providers)?";

constexpr std::string_view kNotBuiltPage =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tandem</title></head>"
    "<body><h1>Tandem</h1><p>This binary was built without the web UI (npm was not found, or "
    "TANDEM_WEB_UI was OFF). The HTTP API under /api works; see docs/server.md.</p></body></html>";

void SetUiHeaders(httplib::Response& res) {
  res.set_header("Content-Security-Policy", std::string(kContentSecurityPolicy));
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
}

void SendAsset(httplib::Response& res, const WebAsset& asset) {
  res.set_content(reinterpret_cast<const char*>(asset.data), asset.size,
                  std::string(WebContentType(asset.path)));
}

}  // namespace

const WebAsset* FindWebAsset(std::string_view path) {
  std::span<const WebAsset> assets = WebAssets();
  auto it = std::lower_bound(assets.begin(), assets.end(), path,
                             [](const WebAsset& a, std::string_view p) { return a.path < p; });
  return it != assets.end() && it->path == path ? &*it : nullptr;
}

std::string_view WebContentType(std::string_view path) {
  struct Type {
    std::string_view extension, type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const Type& t : kTypes) {
    if (path.ends_with(t.extension)) return t.type;
  }
  return "application/octet-stream";
}

void Server::Impl::AddWebUiRoutes() {
  Route("GET", "/api/tasks/([A-Za-z0-9_-]+)/routing", "/api/tasks/:id/routing", Access::kViewer,
        [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
          ShowTaskRouting(req, res, who);
        });
  Route("GET", std::string(kClientRoutes), "/ui", Access::kPublic,
        [](const httplib::Request&, httplib::Response& res, const Principal&) {
          SetUiHeaders(res);
          // Revalidated on every load: a new build's index names new asset files.
          res.set_header("Cache-Control", "no-cache");
          if (const WebAsset* index = FindWebAsset("/index.html")) return SendAsset(res, *index);
          res.set_content(std::string(kNotBuiltPage), "text/html; charset=utf-8");
        });
  Route("GET", "/assets/([A-Za-z0-9._-]+)", "/assets/:file", Access::kPublic,
        [](const httplib::Request& req, httplib::Response& res, const Principal&) {
          SetUiHeaders(res);
          const WebAsset* asset = FindWebAsset("/assets/" + std::string(req.matches[1]));
          if (asset == nullptr) return SendError(res, 404, "not_found", "no such asset");
          // File names carry a hash of their content, so a cached copy never goes stale.
          res.set_header("Cache-Control", "public, max-age=31536000, immutable");
          SendAsset(res, *asset);
        });
}

}  // namespace tandem::server
