// Private to the server module: the web UI's built files (web/, built by Vite), compiled into
// the binary by cmake/EmbedDirectory.cmake so `tandem serve` needs no asset folder.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace tandem::server {

struct WebAsset {
  std::string_view path;  // "/index.html", "/assets/index-<hash>.js", ...
  const unsigned char* data;
  size_t size;
};

// Every embedded file, sorted by path; empty when the binary was built without the UI
// (-DTANDEM_WEB_UI=OFF or no npm at configure time).
std::span<const WebAsset> WebAssets();

// The embedded file at `path`, or nullptr.
const WebAsset* FindWebAsset(std::string_view path);

// The Content-Type for a file name by its extension ("application/octet-stream" if unknown).
std::string_view WebContentType(std::string_view path);

}  // namespace tandem::server
