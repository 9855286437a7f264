// The configuration both gateway suites run against: a local and a cloud scripted provider, each
// with a chat and an embedding model, generic work routed to the cloud, and a local-only profile.
#pragma once

#include <string>

namespace tandem::server {

// `extra` is appended (more profiles, for instance).
inline std::string GatewayTestConfig(const std::string& local_url, const std::string& cloud_url,
                                     const std::string& extra = "") {
  return R"(
[routing]
generic = "cloud"
[[routing.profiles]]
name = "private"
description = "Local models only, whatever the content"
zones = ["local"]
[[providers]]
name = "local"
base_url = ")" +
         local_url +
         R"("
model = "local-model"
zone = "local"
embedding_model = "local-embed"
[[providers]]
name = "cloud"
base_url = ")" +
         cloud_url +
         R"("
model = "gpt-4o-mini"
zone = "cloud"
embedding_model = "text-embedding-3-small"
)" + extra;
}

}  // namespace tandem::server
