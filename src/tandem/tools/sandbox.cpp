#include "tandem/tools/sandbox.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tandem/tools/text_util.h"
#include "tandem/tools/workspace.h"

namespace tandem::tools {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The seccomp fd as the child sees it (moved there between fork and exec).
constexpr int kSeccompChildFd = 3;

// Syscalls the sandboxed code never needs and that widen the kernel attack surface or allow
// observing other processes: ptrace and cross-process memory access, io_uring (which bypasses
// seccomp argument checks), namespaces and mounts, BPF, perf, keyrings, module loading.
constexpr const char* kDeniedSyscalls[] = {"ptrace",
                                           "process_vm_readv",
                                           "process_vm_writev",
                                           "io_uring_setup",
                                           "io_uring_enter",
                                           "io_uring_register",
                                           "unshare",
                                           "setns",
                                           "mount",
                                           "umount2",
                                           "pivot_root",
                                           "chroot",
                                           "fsopen",
                                           "fsmount",
                                           "fsconfig",
                                           "move_mount",
                                           "open_tree",
                                           "mount_setattr",
                                           "bpf",
                                           "perf_event_open",
                                           "userfaultfd",
                                           "keyctl",
                                           "add_key",
                                           "request_key",
                                           "kexec_load",
                                           "kexec_file_load",
                                           "init_module",
                                           "finit_module",
                                           "delete_module",
                                           "swapon",
                                           "swapoff",
                                           "reboot",
                                           "open_by_handle_at",
                                           "name_to_handle_at",
                                           "acct",
                                           "quotactl",
                                           "syslog",
                                           "personality",
                                           "pidfd_getfd"};

constexpr uint64_t kNamespaceCloneFlags[] = {CLONE_NEWUSER,  CLONE_NEWNS,  CLONE_NEWNET,
                                             CLONE_NEWPID,   CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWCGROUP};

struct SeccompContext {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  ~SeccompContext() {
    if (ctx) seccomp_release(ctx);
  }
};

std::string ReadSmallFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool WriteSmallFile(const fs::path& path, std::string_view text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

// Finds a directory of a pids cgroup hierarchy in which this process may create children:
// cgroup v1 "pids" controller or cgroup v2 with "pids" available. Empty if none is writable.
fs::path FindPidsCgroup() {
  std::string mountinfo = ReadSmallFile("/proc/self/mountinfo");
  std::string self = ReadSmallFile("/proc/self/cgroup");
  std::istringstream lines(mountinfo);
  std::string line;
  while (std::getline(lines, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, devno, root, mount_point;
    head >> id >> parent >> devno >> root >> mount_point;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype, source, options;
    tail >> fstype >> source >> options;
    std::string wanted_prefix;
    if (fstype == "cgroup" && ("," + options + ",").find(",pids,") != std::string::npos) {
      wanted_prefix = ":pids:";
    } else if (fstype == "cgroup2") {
      wanted_prefix = "0::";
    } else {
      continue;
    }
    // This process's path within that hierarchy, from /proc/self/cgroup.
    std::istringstream entries(self);
    std::string entry;
    while (std::getline(entries, entry)) {
      size_t at = entry.find(wanted_prefix);
      if (at == std::string::npos || (wanted_prefix == "0::" && at != 0)) continue;
      std::string path = entry.substr(at + wanted_prefix.size());
      if (root != "/" && path.starts_with(root)) path = path.substr(root.size());
      fs::path dir = fs::path(mount_point) / fs::path(path).relative_path();
      if (fstype == "cgroup2" &&
          ReadSmallFile(dir / "cgroup.controllers").find("pids") == std::string::npos) {
        continue;
      }
      if (access(dir.c_str(), W_OK) == 0) return dir;
    }
  }
  return {};
}

// A cgroup for one run: caps the number of processes and lets us find and kill every process
// of the run, even ones that escaped the process tree by double-forking.
class RunCgroup {
 public:
  static Result<std::unique_ptr<RunCgroup>> Create(const fs::path& parent, int64_t max_pids) {
    static std::atomic<uint64_t> counter{0};
    fs::path dir = parent / fmt::format("tandem-sandbox-{}-{}", getpid(), counter++);
    if (mkdir(dir.c_str(), 0755) != 0) {
      return MakeError(ErrorCode::kFailedPrecondition, "creating cgroup {}: {}", dir.string(),
                       std::strerror(errno));
    }
    auto cgroup = std::unique_ptr<RunCgroup>(new RunCgroup(dir));
    if (!fs::exists(dir / "pids.max")) {
      // cgroup v2 enables controllers for children through the parent's subtree_control.
      WriteSmallFile(parent / "cgroup.subtree_control", "+pids");
    }
    if (!WriteSmallFile(dir / "pids.max", std::to_string(max_pids))) {
      return MakeError(ErrorCode::kFailedPrecondition, "setting {}/pids.max: {}", dir.string(),
                       std::strerror(errno));
    }
    cgroup->procs_fd_ = UniqueFd(open((dir / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (!cgroup->procs_fd_.valid()) {
      return MakeError(ErrorCode::kFailedPrecondition, "opening {}/cgroup.procs: {}", dir.string(),
                       std::strerror(errno));
    }
    return cgroup;
  }

  ~RunCgroup() {
    procs_fd_ = UniqueFd();
    KillAll();
    // Removal fails while exiting processes are still being reaped; retry briefly.
    for (int attempt = 0; attempt < 200 && rmdir(dir_.c_str()) != 0 && errno == EBUSY; ++attempt) {
      KillAll();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  int procs_fd() const { return procs_fd_.get(); }

  // SIGKILLs every process in the cgroup; loops because members may fork while we kill.
  void KillAll() const {
    for (int round = 0; round < 50; ++round) {
      std::istringstream pids(ReadSmallFile(dir_ / "cgroup.procs"));
      pid_t pid = 0;
      bool any = false;
      while (pids >> pid) {
        kill(pid, SIGKILL);
        any = true;
      }
      if (!any) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

 private:
  explicit RunCgroup(fs::path dir) : dir_(std::move(dir)) {}
  fs::path dir_;
  UniqueFd procs_fd_;
};

Result<UniqueFd> MemfdWith(const char* name, std::string_view data) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return MakeError(ErrorCode::kInternal, "memfd_create: {}", std::strerror(errno));
  UniqueFd owned(fd);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return MakeError(ErrorCode::kInternal, "writing memfd: {}", std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  lseek(fd, 0, SEEK_SET);
  return owned;
}

int64_t CountProcessesOf(uid_t uid) {
  int64_t count = 0;
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator("/proc", ignored)) {
    struct stat st {};
    if (std::isdigit(static_cast<unsigned char>(entry.path().filename().string()[0])) &&
        stat(entry.path().c_str(), &st) == 0 && st.st_uid == uid) {
      ++count;
    }
  }
  return count;
}

// Everything the child needs, prepared before fork so the child only makes async-signal-safe
// calls (the parent may have other threads holding locks).
struct ChildPlan {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string exe;
  std::string chdir_to;  // Unsandboxed mode only.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int seccomp_fd = -1;
  int cgroup_procs_fd = -1;
  std::vector<std::pair<int, rlimit>> limits;

  void Finish() {
    for (std::string& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    for (std::string& e : env)
      envp.push_back(e.data());
    envp.push_back(nullptr);
  }
};

void WriteDecimal(int fd, long value) {
  char buffer[24];
  int n = 0;
  char digits[24];
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  for (int i = 0; i < n; ++i)
    buffer[i] = digits[n - 1 - i];
  [[maybe_unused]] ssize_t ignored = write(fd, buffer, static_cast<size_t>(n));
}

[[noreturn]] void RunChild(const ChildPlan& plan) {
  // Join the run's cgroup first so every later fork is counted.
  if (plan.cgroup_procs_fd >= 0) WriteDecimal(plan.cgroup_procs_fd, getpid());
  setsid();
  dup2(plan.stdin_fd, 0);
  dup2(plan.stdout_fd, 1);
  dup2(plan.stderr_fd, 2);
  if (plan.seccomp_fd >= 0) dup2(plan.seccomp_fd, kSeccompChildFd);
  // Nothing else of the parent's leaks in: close every other descriptor.
  int first_closed = plan.seccomp_fd >= 0 ? kSeccompChildFd + 1 : 3;
  if (syscall(SYS_close_range, first_closed, ~0U, 0) != 0) {
    for (int fd = first_closed; fd < 65536; ++fd)
      close(fd);
  }
  for (const auto& [resource, limit] : plan.limits)
    setrlimit(resource, &limit);
  if (!plan.chdir_to.empty() && chdir(plan.chdir_to.c_str()) != 0) _exit(126);
  execve(plan.exe.c_str(), plan.argv.data(), plan.envp.data());
  _exit(127);
}

std::string_view SignalHint(int signal) {
  switch (signal) {
    case SIGXCPU:
      return "SIGXCPU: CPU time limit";
    case SIGXFSZ:
      return "SIGXFSZ: file size limit";
    case SIGKILL:
      return "SIGKILL";
    case SIGSEGV:
      return "SIGSEGV: crashed";
    case SIGABRT:
      return "SIGABRT: aborted";
    default:
      return "";
  }
}

}  // namespace

std::string ProcessOutcome::Describe() const {
  if (timed_out) return fmt::format("killed after {:.1f} s wall-clock limit", wall_s);
  if (cancelled) return "killed: cancelled";
  if (exit_code > 128 && !SignalHint(exit_code - 128).empty()) {
    return fmt::format("exit {} ({})", exit_code, SignalHint(exit_code - 128));
  }
  return fmt::format("exit {}", exit_code);
}

Result<std::string> BuildSeccompFilter() {
  SeccompContext seccomp;
  if (!seccomp.ctx) return MakeError(ErrorCode::kInternal, "seccomp_init failed");
  // Only AF_UNIX sockets: no IP, packet, netlink or other families.
  if (seccomp_rule_add(seccomp.ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                       SCMP_A0(SCMP_CMP_NE, AF_UNIX)) != 0) {
    return MakeError(ErrorCode::kInternal, "seccomp rule for socket failed");
  }
  for (const char* name : kDeniedSyscalls) {
    int number = seccomp_syscall_resolve_name(name);
    if (number == __NR_SCMP_ERROR) continue;  // Not on this architecture.
    if (seccomp_rule_add(seccomp.ctx, SCMP_ACT_ERRNO(EPERM), number, 0) != 0) {
      return MakeError(ErrorCode::kInternal, "seccomp rule for {} failed", name);
    }
  }
  for (uint64_t flag : kNamespaceCloneFlags) {
    if (seccomp_rule_add(seccomp.ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)) != 0) {
      return MakeError(ErrorCode::kInternal, "seccomp rule for clone failed");
    }
  }
  // clone3 passes its flags in memory that seccomp cannot inspect; ENOSYS makes libc fall back
  // to clone, which the rules above do check.
  if (seccomp_rule_add(seccomp.ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0) {
    return MakeError(ErrorCode::kInternal, "seccomp rule for clone3 failed");
  }
  int fd = memfd_create("tandem-seccomp", MFD_CLOEXEC);
  if (fd < 0) return MakeError(ErrorCode::kInternal, "memfd_create: {}", std::strerror(errno));
  UniqueFd owned(fd);
  if (seccomp_export_bpf(seccomp.ctx, fd) != 0) {
    return MakeError(ErrorCode::kInternal, "exporting the seccomp filter failed");
  }
  off_t size = lseek(fd, 0, SEEK_END);
  std::string bpf(static_cast<size_t>(size), '\0');
  if (pread(fd, bpf.data(), bpf.size(), 0) != size) {
    return MakeError(ErrorCode::kInternal, "reading back the seccomp filter failed");
  }
  return bpf;
}

Sandbox::~Sandbox() = default;

Result<std::unique_ptr<Sandbox>> Sandbox::Create(const SandboxOptions& options) {
  std::unique_ptr<Sandbox> sandbox(new Sandbox(options));
  sandbox->pids_root_ = options.cgroup_parent.empty() ? FindPidsCgroup() : options.cgroup_parent;
  if (options.mode == SandboxMode::kNone) return sandbox;  // Limits only, by explicit choice.
  auto refuse = [](std::string why) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the code sandbox cannot be set up: {}. Code tools are refused; set [tools] "
                     "sandbox = \"none\" only if you accept running code without isolation",
                     why);
  };
  if (access(options.bwrap.c_str(), X_OK) != 0) {
    return refuse(fmt::format("bubblewrap not found at {} (install the bubblewrap package)",
                              options.bwrap.string()));
  }
  Result<std::string> bpf = BuildSeccompFilter();
  if (!bpf) return refuse(bpf.error().message());
  sandbox->seccomp_bpf_ = std::move(*bpf);
  if (geteuid() == 0 && sandbox->pids_root_.empty()) {
    return refuse(
        "running as root, where the kernel ignores RLIMIT_NPROC, and no writable pids cgroup "
        "was found to cap the number of processes");
  }
  // Probe: namespaces may be forbidden (e.g. inside some containers).
  std::error_code ignored;
  fs::path probe_dir = fs::temp_directory_path(ignored) / fmt::format("tandem-probe-{}", getpid());
  fs::create_directories(probe_dir, ignored);
  ProcessRequest probe;
  probe.argv = {"/bin/true"};
  probe.workspace = probe_dir;
  Result<ProcessOutcome> outcome = sandbox->Run(probe);
  fs::remove_all(probe_dir, ignored);
  if (!outcome) return refuse(outcome.error().message());
  if (outcome->exit_code != 0) {
    return refuse(fmt::format("bubblewrap failed a trial run ({}): {}", outcome->Describe(),
                              outcome->stderr_text));
  }
  return sandbox;
}

std::vector<std::string> Sandbox::BwrapArgs(const ProcessRequest& request) const {
  // The code runs as an unprivileged uid inside its own user namespace (mapped to ours outside,
  // so workspace files keep their owner) with every capability dropped.
  std::vector<std::string> args = {options_.bwrap.string(),
                                   "--unshare-all",
                                   "--unshare-user",
                                   "--uid",
                                   "65534",
                                   "--gid",
                                   "65534",
                                   "--die-with-parent",
                                   "--new-session",
                                   "--cap-drop",
                                   "ALL",
                                   "--hostname",
                                   "sandbox",
                                   "--ro-bind",
                                   "/usr",
                                   "/usr"};
  // Merged-/usr systems have /bin -> usr/bin and so on; others have real directories.
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    std::error_code error;
    if (fs::is_symlink(top, error)) {
      args.insert(args.end(), {"--symlink", fs::read_symlink(top, error).string(), top});
    } else if (fs::is_directory(top, error)) {
      args.insert(args.end(), {"--ro-bind", top, top});
    }
  }
  // Only the /etc files programs need to start; never shadow, ssh keys or credentials.
  for (const char* file : {"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                           "/etc/alternatives", "/etc/localtime", "/etc/nsswitch.conf",
                           "/etc/passwd", "/etc/group", "/etc/python3", "/etc/python3.11"}) {
    args.insert(args.end(), {"--ro-bind-try", file, file});
  }
  args.insert(args.end(),
              {"--proc", "/proc", "--dev", "/dev", "--size",
               std::to_string(options_.limits.tmp_bytes), "--tmpfs", "/tmp", "--bind",
               fs::absolute(request.workspace).string(), "/workspace", "--remount-ro", "/",
               "--chdir", "/workspace", "--seccomp", std::to_string(kSeccompChildFd), "--"});
  args.insert(args.end(), request.argv.begin(), request.argv.end());
  return args;
}

Result<ProcessOutcome> Sandbox::Run(const ProcessRequest& request) const {
  if (request.argv.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty command");
  for (const std::string& arg : request.argv) {
    if (arg.find('\0') != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument, "command contains a NUL byte");
    }
  }
  std::error_code error;
  if (!fs::is_directory(request.workspace, error)) {
    return MakeError(ErrorCode::kFailedPrecondition, "workspace {} is not a directory",
                     request.workspace.string());
  }
  const SandboxLimits& limits = options_.limits;
  bool sandboxed = options_.mode == SandboxMode::kBubblewrap;

  std::unique_ptr<RunCgroup> cgroup;
  if (!pids_root_.empty()) {
    auto created = RunCgroup::Create(pids_root_, limits.max_processes);
    // Root depends on the cgroup for the process cap; others still have RLIMIT_NPROC.
    if (!created && geteuid() == 0) return std::unexpected(created.error());
    if (created) cgroup = std::move(*created);
  }
  auto stdin_fd = MemfdWith("tandem-stdin", request.stdin_data);
  if (!stdin_fd) return std::unexpected(stdin_fd.error());
  UniqueFd seccomp_fd;
  if (sandboxed) {
    auto bpf = MemfdWith("tandem-seccomp", seccomp_bpf_);
    if (!bpf) return std::unexpected(bpf.error());
    seccomp_fd = std::move(*bpf);
  }
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    return MakeError(ErrorCode::kInternal, "pipe: {}", std::strerror(errno));
  }
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    return MakeError(ErrorCode::kInternal, "pipe: {}", std::strerror(errno));
  }
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);

  ChildPlan plan;
  plan.args = sandboxed ? BwrapArgs(request) : request.argv;
  plan.exe = plan.args[0];
  plan.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "TMPDIR=/tmp",
              sandboxed ? "HOME=/workspace" : "HOME=" + fs::absolute(request.workspace).string()};
  if (!sandboxed) plan.chdir_to = fs::absolute(request.workspace).string();
  plan.Finish();
  plan.stdin_fd = stdin_fd->get();
  plan.stdout_fd = out_write.get();
  plan.stderr_fd = err_write.get();
  plan.seccomp_fd = seccomp_fd.get();
  plan.cgroup_procs_fd = cgroup ? cgroup->procs_fd() : -1;
  auto limit = [](int64_t soft, int64_t hard) {
    return rlimit{static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)};
  };
  int64_t nproc = limits.max_processes;
  if (geteuid() != 0) nproc += CountProcessesOf(geteuid());  // RLIMIT_NPROC counts per user.
  plan.limits = {{RLIMIT_CPU, limit(limits.cpu_s, limits.cpu_s + 1)},
                 {RLIMIT_AS, limit(limits.memory_bytes, limits.memory_bytes)},
                 {RLIMIT_FSIZE, limit(limits.max_file_bytes, limits.max_file_bytes)},
                 {RLIMIT_NOFILE, limit(limits.max_open_files, limits.max_open_files)},
                 {RLIMIT_NPROC, limit(nproc, nproc)},
                 {RLIMIT_CORE, limit(0, 0)}};

  Clock::time_point start = Clock::now();
  pid_t pid = fork();
  if (pid < 0) return MakeError(ErrorCode::kInternal, "fork: {}", std::strerror(errno));
  if (pid == 0) RunChild(plan);
  out_write = UniqueFd();
  err_write = UniqueFd();

  ProcessOutcome outcome;
  size_t per_stream = static_cast<size_t>(limits.max_output_bytes);
  HeadTailBuffer out_buffer(per_stream), err_buffer(per_stream);
  double timeout_s = limits.timeout_s;
  if (request.timeout_s > 0) timeout_s = std::min(timeout_s, request.timeout_s);
  Clock::time_point deadline =
      start + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  auto kill_all = [&] {
    // The process group (unsandboxed), bwrap (whose pid-namespace init dies with it, taking
    // every process of the namespace), and whatever is left in the cgroup.
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    if (cgroup) cgroup->KillAll();
  };
  bool killed = false;
  int status = 0;
  bool reaped = false;
  char buffer[16384];
  while (out_read.valid() || err_read.valid() || !reaped) {
    if (!killed && Clock::now() >= deadline) {
      outcome.timed_out = killed = true;
      kill_all();
    }
    if (!killed && request.cancel && request.cancel->IsCancelled()) {
      outcome.cancelled = killed = true;
      kill_all();
    }
    if (!reaped) {
      pid_t done = waitpid(pid, &status, WNOHANG);
      if (done == pid) {
        reaped = true;
        // Descendants that kept the pipes open would block us until the deadline.
        if (!sandboxed || cgroup) kill_all();
      }
    }
    pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
    int ready = poll(fds, 2, 20);
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        (i == 0 ? out_buffer : err_buffer).Append(std::string_view(buffer, static_cast<size_t>(n)));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        (i == 0 ? out_read : err_read) = UniqueFd();
      }
    }
    if (killed && Clock::now() > deadline + std::chrono::seconds(5)) break;  // Give up reading.
  }
  if (!reaped) {
    kill_all();
    waitpid(pid, &status, 0);
  }
  outcome.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.exit_code = 128 + WTERMSIG(status);
  outcome.stdout_text = out_buffer.Text();
  outcome.stderr_text = err_buffer.Text();
  outcome.output_truncated = out_buffer.truncated() || err_buffer.truncated();
  if (!out_buffer.truncated()) outcome.stdout_text = ToValidUtf8(outcome.stdout_text);
  if (!err_buffer.truncated()) outcome.stderr_text = ToValidUtf8(outcome.stderr_text);
  return outcome;
}

}  // namespace tandem::tools
