// The single-writer rule of a memory directory: an exclusive flock on its LOCK file, released
// when the holder exits (even by SIGKILL), holding the owner's pid for error messages.
#pragma once

#include <filesystem>
#include <memory>

#include "tandem/core/error.h"

namespace tandem::memory {

// Move-only; releases the lock on destruction.
class WriteLock {
 public:
  // kUnavailable naming the holder's pid when another process (or another open store in this
  // process) holds the lock.
  static Result<WriteLock> Acquire(const std::filesystem::path& lock_path);
  WriteLock(WriteLock&& other) noexcept;
  WriteLock& operator=(WriteLock&& other) noexcept;
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;
  ~WriteLock();

 private:
  explicit WriteLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace tandem::memory
