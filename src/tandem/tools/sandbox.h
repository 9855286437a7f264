// Runs untrusted code: bubblewrap namespaces (no network, read-only system, only the workspace
// writable, private /tmp, new session, no capabilities, empty environment), a seccomp filter
// (no network sockets, ptrace, io_uring, namespaces, kernel keyrings, BPF), resource limits,
// a process-count cap and a wall-clock timeout that kills the whole process tree.
//
//   auto sandbox = Sandbox::Create({});          // fails closed when bwrap cannot run
//   ProcessRequest request;
//   request.argv = {"/bin/sh", "-c", "ls"};
//   request.workspace = dir;
//   Result<ProcessOutcome> outcome = (*sandbox)->Run(request);
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tandem/core/cancellation.h"
#include "tandem/core/error.h"

namespace tandem::tools {

enum class SandboxMode {
  kBubblewrap,  // Default: namespaces + seccomp + limits. Refuses to run if unavailable.
  kNone,        // No isolation, only rlimits, timeout and an empty environment. Opt-in only.
};

struct SandboxLimits {
  double timeout_s = 30;                // Wall clock; the whole process tree is killed after it.
  int64_t cpu_s = 30;                   // RLIMIT_CPU per process (SIGXCPU, then SIGKILL).
  int64_t memory_bytes = 1LL << 30;     // RLIMIT_AS per process; allocation fails beyond it.
  int64_t max_processes = 64;           // pids cgroup (or RLIMIT_NPROC when not root).
  int64_t max_file_bytes = 64LL << 20;  // RLIMIT_FSIZE: largest file a process may write.
  int64_t max_open_files = 256;         // RLIMIT_NOFILE.
  int64_t tmp_bytes = 64LL << 20;       // Size of the private /tmp (tmpfs).
  int64_t max_output_bytes = 64 << 10;  // Kept per stream: head and tail, the middle is dropped.
};

struct SandboxOptions {
  SandboxMode mode = SandboxMode::kBubblewrap;
  SandboxLimits limits;
  std::filesystem::path bwrap = "/usr/bin/bwrap";
  // Root of the pids cgroup hierarchy to create per-run cgroups in; empty means discover it
  // from /proc/self/mountinfo and /proc/self/cgroup.
  std::filesystem::path cgroup_parent;
};

struct ProcessRequest {
  std::vector<std::string> argv;    // Paths as seen inside the sandbox.
  std::string stdin_data;           // Given on standard input (then EOF).
  std::filesystem::path workspace;  // Mounted read-write at /workspace, the working dir.
  const CancellationToken* cancel = nullptr;
  double timeout_s = 0;  // Tighter wall-clock limit for this run; 0: the default.
};

struct ProcessOutcome {
  int exit_code = -1;       // Exit status; 128+N when killed by signal N.
  bool timed_out = false;   // Killed by the wall-clock limit.
  bool cancelled = false;   // Killed because the cancellation token was set.
  std::string stdout_text;  // Capped (head and tail) and valid UTF-8.
  std::string stderr_text;
  bool output_truncated = false;
  double wall_s = 0;
  // "exit 0", "killed after 2.0 s wall-clock limit", "exit 152 (SIGXCPU: CPU time limit)"...
  std::string Describe() const;
};

// Thread-safe: Run may be called concurrently (each run has its own cgroup and pipes).
class Sandbox {
 public:
  // Checks that the chosen mode can be enforced here: bwrap runs and can create namespaces,
  // the seccomp filter compiles, and the process limit can be enforced (as root that needs a
  // writable pids cgroup, because the kernel exempts root from RLIMIT_NPROC). Fails with
  // kFailedPrecondition naming what is missing.
  static Result<std::unique_ptr<Sandbox>> Create(const SandboxOptions& options);
  ~Sandbox();

  const SandboxOptions& options() const { return options_; }
  // Runs one command to completion or until a limit. Errors mean it could not be started
  // (kInvalidArgument for a bad request, kInternal for a failed fork); a command that fails,
  // crashes or times out is a successful Run with that outcome.
  Result<ProcessOutcome> Run(const ProcessRequest& request) const;

 private:
  explicit Sandbox(SandboxOptions options) : options_(std::move(options)) {}
  std::vector<std::string> BwrapArgs(const ProcessRequest& request) const;

  SandboxOptions options_;
  std::string seccomp_bpf_;          // The compiled filter, written to a memfd per run.
  std::filesystem::path pids_root_;  // Where per-run cgroups are made; empty if none.
};

// The seccomp filter as a BPF program (what bwrap --seccomp reads). Exposed for tests.
Result<std::string> BuildSeccompFilter();

}  // namespace tandem::tools
