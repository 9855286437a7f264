#include "tandem/memory/write_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace tandem::memory {

Result<WriteLock> WriteLock::Acquire(const std::filesystem::path& lock_path) {
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kUnavailable, "opening {}: {}", lock_path.string(),
                     strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    char buffer[32] = {};
    ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    ::close(fd);
    std::string holder = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "unknown";
    if (saved == EWOULDBLOCK) {
      return MakeError(ErrorCode::kUnavailable,
                       "memory at {} is open for writing by another process (pid {}); only one "
                       "writer at a time, readers may continue",
                       lock_path.parent_path().string(), holder);
    }
    return MakeError(ErrorCode::kUnavailable, "locking {}: {}", lock_path.string(),
                     strerror(saved));
  }
  std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is only informative; the flock is what excludes other writers.
  }
  return WriteLock(fd);
}

WriteLock::WriteLock(WriteLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

WriteLock& WriteLock::operator=(WriteLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

WriteLock::~WriteLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace tandem::memory
