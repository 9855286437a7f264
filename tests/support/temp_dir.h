// A directory under the system temp dir, removed with its contents on destruction.
#pragma once

#include <filesystem>
#include <string>

namespace tandem::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to path()/relative (creating parents) and returns the full path.
  std::filesystem::path Write(const std::string& relative, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

// The whole content of a file ("" if it cannot be read).
std::string ReadFile(const std::filesystem::path& path);

}  // namespace tandem::testing
