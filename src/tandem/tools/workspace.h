// File access confined beneath a workspace directory by the kernel: every path is resolved with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) relative to a descriptor of the root, so `..`,
// absolute paths and symlinks (including ones swapped in concurrently) cannot leave it. Files
// with more than one hard link are refused, since a link may point at a file outside.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/cancellation.h"
#include "tandem/core/error.h"

namespace tandem::tools {

// An owned file descriptor, closed on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();

 private:
  int fd_ = -1;
};

struct FileChunk {
  std::string data;       // The bytes read (raw; may not be UTF-8).
  int64_t file_size = 0;  // Size of the whole file.
  int64_t offset = 0;     // Where `data` starts.
};

struct DirEntry {
  std::string path;  // Workspace-relative, '/'-separated.
  enum class Kind { kFile, kDirectory, kSymlink, kOther } kind = Kind::kOther;
  int64_t size = 0;  // Bytes, for files.
};

struct SearchMatch {
  std::string path;  // Workspace-relative.
  int64_t line = 0;  // 1-based; 0 for a match on the name only.
  std::string text;  // The matching line (capped), raw bytes.
};

struct SearchOptions {
  std::string glob = "*";  // fnmatch pattern tested on the relative path and the base name.
  std::string regex;       // POSIX extended regex on each line; empty lists matching files.
  bool ignore_case = false;
  size_t max_matches = 200;          // Stop after this many matches.
  int64_t max_file_bytes = 1 << 20;  // Larger files are skipped (and counted).
  const CancellationToken* cancel = nullptr;
};

struct SearchReport {
  std::vector<SearchMatch> matches;
  bool truncated = false;    // max_matches reached.
  size_t skipped_files = 0;  // Too large, binary, hard-linked or unreadable.
};

// Thread-compatible: distinct calls may run concurrently (each uses its own descriptors).
class Workspace {
 public:
  // Opens `root` (which must be an existing directory). Fails with kFailedPrecondition when the
  // kernel lacks openat2 (Linux < 5.6): there is no safe fallback, so file tools refuse to run.
  static Result<std::unique_ptr<Workspace>> Open(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }

  // Opens `path` beneath the root with open(2) `flags` (O_CLOEXEC is added). Paths must be
  // relative, without NUL bytes and at most 4095 bytes. kPermissionDenied when resolution
  // would leave the workspace or meets a magic link, kNotFound when absent.
  Result<UniqueFd> OpenBeneath(std::string_view path, int flags, mode_t mode = 0) const;

  // Reads up to `limit` bytes from `offset` of a regular file with a single link.
  Result<FileChunk> Read(std::string_view path, int64_t offset, int64_t limit) const;
  // Replaces the file atomically (temporary file + rename), creating parent directories.
  Status Write(std::string_view path, std::string_view content) const;
  // Appends to a regular file with a single link, creating it (and parents) if absent.
  Status Append(std::string_view path, std::string_view content) const;
  // Removes a file, symlink or empty directory (never what a symlink points to).
  Status Delete(std::string_view path) const;
  // Entries under `path` ("." for the root), depth-first, sorted by name; symlinks are listed,
  // not followed. Stops after `max_entries` and sets *truncated.
  Result<std::vector<DirEntry>> List(std::string_view path, bool recursive, size_t max_entries,
                                     bool* truncated) const;
  // Files under `path` whose name matches options.glob, and lines matching options.regex.
  Result<SearchReport> Search(std::string_view path, const SearchOptions& options) const;

 private:
  Workspace(std::filesystem::path root, UniqueFd root_fd)
      : root_(std::move(root)), root_fd_(std::move(root_fd)) {}
  Result<UniqueFd> OpenParent(std::string_view path, std::string* base, bool create) const;

  std::filesystem::path root_;
  UniqueFd root_fd_;
};

}  // namespace tandem::tools
