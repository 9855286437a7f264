#include "tandem/tools/workspace.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <regex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "tandem/tools/text_util.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

namespace tandem::tools {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

int UniqueFd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

namespace {

constexpr size_t kMaxPathBytes = 4095;
constexpr int kMaxListDepth = 32;

std::unexpected<Error> ErrnoError(int err, std::string_view path, std::string_view action) {
  std::string shown = EscapeName(path);
  switch (err) {
    case EXDEV:
      return MakeError(ErrorCode::kPermissionDenied,
                       "{} '{}': the path leaves the workspace (via '..', an absolute symlink or "
                       "a symlink pointing outside); refused",
                       action, shown);
    case ELOOP:
      return MakeError(ErrorCode::kPermissionDenied,
                       "{} '{}': too many symlinks or a /proc magic link; refused", action, shown);
    case ENOENT:
      return MakeError(ErrorCode::kNotFound, "{} '{}': no such file or directory", action, shown);
    case ENAMETOOLONG:
      return MakeError(ErrorCode::kInvalidArgument, "{} '{}': a name in the path is too long",
                       action, shown);
    case ENOTDIR:
      return MakeError(ErrorCode::kInvalidArgument,
                       "{} '{}': a parent in the path is not a directory", action, shown);
    case EISDIR:
      return MakeError(ErrorCode::kInvalidArgument, "{} '{}': is a directory", action, shown);
    case EEXIST:
      return MakeError(ErrorCode::kAlreadyExists, "{} '{}': already exists", action, shown);
    case ENOTEMPTY:
      return MakeError(ErrorCode::kInvalidArgument, "{} '{}': directory is not empty", action,
                       shown);
    case EACCES:
    case EPERM:
    case EROFS:
      return MakeError(ErrorCode::kPermissionDenied, "{} '{}': {}", action, shown,
                       std::strerror(err));
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return MakeError(ErrorCode::kBudgetExhausted, "{} '{}': {}", action, shown,
                       std::strerror(err));
    case ENOSYS:
      return MakeError(ErrorCode::kFailedPrecondition,
                       "{} '{}': the kernel lacks openat2 (Linux 5.6 or newer is required to "
                       "confine file access)",
                       action, shown);
    default:
      return MakeError(ErrorCode::kInternal, "{} '{}': {}", action, shown, std::strerror(err));
  }
}

Status CheckPath(std::string_view path) {
  if (path.empty()) return MakeError(ErrorCode::kInvalidArgument, "argument 'path' is empty");
  if (path.find('\0') != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "argument 'path' contains a NUL byte");
  }
  if (path.size() > kMaxPathBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "argument 'path' is too long ({} bytes, at most {})", path.size(),
                     kMaxPathBytes);
  }
  if (path.front() == '/') {
    return MakeError(ErrorCode::kPermissionDenied,
                     "absolute path '{}' refused: paths are relative to the workspace",
                     EscapeName(path));
  }
  return {};
}

// The file behind `fd` must be a regular file with one link: a second link may be a name
// outside the workspace for the same inode.
Status CheckRegularSingleLink(int fd, std::string_view path) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return ErrnoError(errno, path, "stat");
  if (S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument, "'{}' is a directory", EscapeName(path));
  }
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kPermissionDenied, "'{}' is not a regular file; refused",
                     EscapeName(path));
  }
  if (st.st_nlink > 1) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "'{}' has {} hard links; files that may be linked from outside the workspace "
                     "are refused",
                     EscapeName(path), st.st_nlink);
  }
  return {};
}

Status WriteAll(int fd, std::string_view data, std::string_view path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, path, "write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

std::string_view TrimTrailingSlashes(std::string_view path) {
  while (path.size() > 1 && path.back() == '/')
    path.remove_suffix(1);
  return path;
}

std::string JoinRelative(std::string_view prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : fmt::format("{}/{}", prefix, name);
}

}  // namespace

Result<std::unique_ptr<Workspace>> Workspace::Open(const std::filesystem::path& root) {
  int fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected(
        ErrnoError(errno, root.string(), "opening workspace").error().WithContext("workspace"));
  }
  std::unique_ptr<Workspace> workspace(new Workspace(root, UniqueFd(fd)));
  // Probe openat2 once so a missing syscall is reported up front, not on the first file.
  if (Result<UniqueFd> probe = workspace->OpenBeneath(".", O_PATH | O_DIRECTORY); !probe) {
    return std::unexpected(std::move(probe.error()).WithContext("workspace"));
  }
  return workspace;
}

Result<UniqueFd> Workspace::OpenBeneath(std::string_view path, int flags, mode_t mode) const {
  if (Status ok = CheckPath(path); !ok) return std::unexpected(ok.error());
  std::string c_path(path);
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  // EAGAIN means a concurrent rename raced the lookup; the kernel asks us to retry.
  for (int attempt = 0; attempt < 64; ++attempt) {
    long fd = syscall(SYS_openat2, root_fd_.get(), c_path.c_str(), &how, sizeof(how));
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno != EINTR && errno != EAGAIN) return ErrnoError(errno, path, "open");
  }
  return MakeError(ErrorCode::kUnavailable, "open '{}': lookup kept racing a rename; try again",
                   EscapeName(path));
}

Result<UniqueFd> Workspace::OpenParent(std::string_view path, std::string* base,
                                       bool create) const {
  if (Status ok = CheckPath(path); !ok) return std::unexpected(ok.error());
  path = TrimTrailingSlashes(path);
  size_t slash = path.rfind('/');
  std::string_view dir = slash == std::string_view::npos ? "." : path.substr(0, slash);
  *base = std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
  if (base->empty() || *base == "." || *base == "..") {
    return MakeError(ErrorCode::kInvalidArgument, "'{}' does not name a file", EscapeName(path));
  }
  if (create && dir != ".") {
    // Create missing directories one level at a time, each through a descriptor opened beneath
    // the root, so a symlinked component cannot redirect the mkdir outside.
    size_t pos = 0;
    while (pos <= dir.size()) {
      size_t next = dir.find('/', pos);
      if (next == std::string_view::npos) next = dir.size();
      std::string_view component = dir.substr(pos, next - pos);
      if (!component.empty() && component != ".") {
        std::string_view prefix = dir.substr(0, next);
        if (Result<UniqueFd> have = OpenBeneath(prefix, O_PATH | O_DIRECTORY); !have) {
          if (have.error().code() != ErrorCode::kNotFound) return std::unexpected(have.error());
          std::string_view parent = pos == 0 ? std::string_view(".") : dir.substr(0, pos);
          Result<UniqueFd> parent_fd = OpenBeneath(parent, O_PATH | O_DIRECTORY);
          if (!parent_fd) return std::unexpected(parent_fd.error());
          std::string name(component);
          if (mkdirat(parent_fd->get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
            return ErrnoError(errno, prefix, "mkdir");
          }
        }
      }
      pos = next + 1;
    }
  }
  return OpenBeneath(dir, O_PATH | O_DIRECTORY);
}

Result<FileChunk> Workspace::Read(std::string_view path, int64_t offset, int64_t limit) const {
  if (offset < 0 || limit < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "offset and limit must not be negative");
  }
  Result<UniqueFd> fd = OpenBeneath(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd) return std::unexpected(fd.error());
  if (Status ok = CheckRegularSingleLink(fd->get(), path); !ok) return std::unexpected(ok.error());
  struct stat st {};
  if (fstat(fd->get(), &st) != 0) return ErrnoError(errno, path, "stat");
  FileChunk chunk;
  chunk.file_size = st.st_size;
  chunk.offset = offset;
  int64_t want = std::max<int64_t>(0, std::min<int64_t>(limit, st.st_size - offset));
  chunk.data.resize(static_cast<size_t>(want));
  size_t done = 0;
  while (done < chunk.data.size()) {
    ssize_t n = pread(fd->get(), chunk.data.data() + done, chunk.data.size() - done,
                      static_cast<off_t>(offset) + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, path, "read");
    if (n == 0) break;  // The file shrank while we read it.
    done += static_cast<size_t>(n);
  }
  chunk.data.resize(done);
  return chunk;
}

Status Workspace::Write(std::string_view path, std::string_view content) const {
  std::string base;
  Result<UniqueFd> parent = OpenParent(path, &base, /*create=*/true);
  if (!parent) return std::unexpected(parent.error());
  // Writing a fresh inode and renaming it over the name means an existing hard link or symlink
  // is replaced, never written through, and readers never see a half-written file.
  std::random_device random;
  std::string temp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    temp = fmt::format(".tandem-write-{:08x}", random());
    fd = openat(parent->get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0644);
    if (fd < 0 && errno != EEXIST) return ErrnoError(errno, path, "create");
  }
  if (fd < 0) return ErrnoError(EEXIST, path, "create");
  UniqueFd file(fd);
  Status written = WriteAll(file.get(), content, path);
  if (written && fsync(file.get()) != 0) written = ErrnoError(errno, path, "fsync");
  if (written && renameat(parent->get(), temp.c_str(), parent->get(), base.c_str()) != 0) {
    written = ErrnoError(errno, path, "rename");
  }
  if (!written) unlinkat(parent->get(), temp.c_str(), 0);
  return written;
}

Status Workspace::Append(std::string_view path, std::string_view content) const {
  std::string base;
  if (Result<UniqueFd> parent = OpenParent(path, &base, /*create=*/true); !parent) {
    return std::unexpected(parent.error());
  }
  Result<UniqueFd> fd =
      OpenBeneath(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_NOCTTY, 0644);
  if (!fd) return std::unexpected(fd.error());
  if (Status ok = CheckRegularSingleLink(fd->get(), path); !ok) return ok;
  return WriteAll(fd->get(), content, path);
}

Status Workspace::Delete(std::string_view path) const {
  std::string base;
  Result<UniqueFd> parent = OpenParent(path, &base, /*create=*/false);
  if (!parent) return std::unexpected(parent.error());
  if (unlinkat(parent->get(), base.c_str(), 0) == 0) return {};
  if (errno != EISDIR) return ErrnoError(errno, path, "delete");
  if (unlinkat(parent->get(), base.c_str(), AT_REMOVEDIR) != 0) {
    return ErrnoError(errno, path, "delete");
  }
  return {};
}

namespace {

struct ListState {
  std::vector<DirEntry>* out;
  size_t max_entries;
  bool truncated = false;
};

// Lists the directory open at `dir_fd` (the descriptor is consumed).
Status ListDir(UniqueFd dir_fd, const std::string& prefix, bool recursive, int depth,
               ListState& state) {
  DIR* dir = fdopendir(dir_fd.get());
  if (!dir) return ErrnoError(errno, prefix.empty() ? "." : prefix, "list");
  int fd = dir_fd.Release();
  std::vector<std::string> names;
  while (dirent* entry = readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  Status status;
  for (const std::string& name : names) {
    if (state.out->size() >= state.max_entries) {
      state.truncated = true;
      break;
    }
    struct stat st {};
    if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // Vanished.
    DirEntry entry;
    entry.path = JoinRelative(prefix, name);
    if (S_ISREG(st.st_mode)) {
      entry.kind = DirEntry::Kind::kFile;
      entry.size = st.st_size;
    } else if (S_ISDIR(st.st_mode)) {
      entry.kind = DirEntry::Kind::kDirectory;
    } else if (S_ISLNK(st.st_mode)) {
      entry.kind = DirEntry::Kind::kSymlink;
    }
    state.out->push_back(entry);
    if (recursive && entry.kind == DirEntry::Kind::kDirectory && depth < kMaxListDepth) {
      // O_NOFOLLOW: a directory swapped for a symlink after fstatat is not entered.
      int child = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child >= 0) {
        status = ListDir(UniqueFd(child), entry.path, recursive, depth + 1, state);
        if (!status) break;
      }
    }
  }
  closedir(dir);
  return status;
}

}  // namespace

Result<std::vector<DirEntry>> Workspace::List(std::string_view path, bool recursive,
                                              size_t max_entries, bool* truncated) const {
  Result<UniqueFd> fd = OpenBeneath(path, O_RDONLY | O_DIRECTORY);
  if (!fd) return std::unexpected(fd.error());
  std::vector<DirEntry> entries;
  ListState state{&entries, max_entries};
  std::string prefix(TrimTrailingSlashes(path));
  if (prefix == "." || prefix == "./") prefix.clear();
  if (Status listed = ListDir(std::move(*fd), prefix, recursive, 0, state); !listed) {
    return std::unexpected(listed.error());
  }
  if (truncated) *truncated = state.truncated;
  return entries;
}

namespace {

// Owns a compiled POSIX regex. glibc's matcher does not recurse on the input, so hostile
// patterns cost time (bounded by our caps) but cannot overflow the stack.
class PosixRegex {
 public:
  ~PosixRegex() {
    if (compiled_) regfree(&regex_);
  }
  Status Compile(const std::string& pattern, bool ignore_case) {
    int flags = REG_EXTENDED | REG_NOSUB | REG_NEWLINE | (ignore_case ? REG_ICASE : 0);
    int rc = regcomp(&regex_, pattern.c_str(), flags);
    if (rc != 0) {
      char message[256];
      regerror(rc, &regex_, message, sizeof(message));
      return MakeError(ErrorCode::kInvalidArgument, "argument 'regex': {}", message);
    }
    compiled_ = true;
    return {};
  }
  bool Matches(const std::string& line) const {
    return regexec(&regex_, line.c_str(), 0, nullptr, 0) == 0;
  }

 private:
  regex_t regex_{};
  bool compiled_ = false;
};

constexpr size_t kMaxLineBytes = 4096;

}  // namespace

Result<SearchReport> Workspace::Search(std::string_view path, const SearchOptions& options) const {
  if (options.regex.find('\0') != std::string::npos ||
      options.glob.find('\0') != std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "patterns must not contain NUL bytes");
  }
  PosixRegex regex;
  if (!options.regex.empty()) {
    if (Status ok = regex.Compile(options.regex, options.ignore_case); !ok) {
      return std::unexpected(ok.error());
    }
  }
  Result<std::vector<DirEntry>> entries = List(path, /*recursive=*/true, 100000, nullptr);
  if (!entries) return std::unexpected(entries.error());
  SearchReport report;
  int glob_flags = options.ignore_case ? FNM_CASEFOLD : 0;
  for (const DirEntry& entry : *entries) {
    if (options.cancel && options.cancel->IsCancelled()) {
      return MakeError(ErrorCode::kCancelled, "search cancelled");
    }
    if (entry.kind != DirEntry::Kind::kFile) continue;
    std::string base = entry.path.substr(entry.path.rfind('/') + 1);
    if (fnmatch(options.glob.c_str(), entry.path.c_str(), glob_flags) != 0 &&
        fnmatch(options.glob.c_str(), base.c_str(), glob_flags) != 0) {
      continue;
    }
    if (report.matches.size() >= options.max_matches) {
      report.truncated = true;
      break;
    }
    if (options.regex.empty()) {
      report.matches.push_back({entry.path, 0, ""});
      continue;
    }
    if (entry.size > options.max_file_bytes) {
      ++report.skipped_files;
      continue;
    }
    Result<FileChunk> chunk = Read(entry.path, 0, options.max_file_bytes);
    if (!chunk || chunk->data.find('\0') != std::string::npos) {  // Unreadable or binary.
      ++report.skipped_files;
      continue;
    }
    std::string_view text = chunk->data;
    int64_t line_number = 0;
    while (!text.empty() && report.matches.size() < options.max_matches) {
      size_t end = text.find('\n');
      std::string line(text.substr(0, std::min({end, text.size(), kMaxLineBytes})));
      text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
      ++line_number;
      if (regex.Matches(line)) report.matches.push_back({entry.path, line_number, line});
    }
    if (report.matches.size() >= options.max_matches && !text.empty()) report.truncated = true;
  }
  return report;
}

}  // namespace tandem::tools
