// Escape, exfiltration and resource-exhaustion attempts against the code sandbox. The suite
// runs as root on CI, so none of this may rely on being unprivileged. Limits are small so each
// attack ends quickly.
#include "tandem/tools/sandbox.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "support/temp_dir.h"
#include "tandem/tools/exec_tools.h"

namespace tandem::tools {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;

class SandboxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SandboxOptions options;
    options.limits.timeout_s = 10;
    options.limits.cpu_s = 2;
    options.limits.memory_bytes = 256LL << 20;
    options.limits.max_processes = 24;
    options.limits.max_file_bytes = 1 << 20;
    options.limits.max_open_files = 64;
    options.limits.tmp_bytes = 2 << 20;
    options.limits.max_output_bytes = 4096;
    auto created = Sandbox::Create(options);
    ASSERT_TRUE(created) << created.error().message();
    sandbox_ = created->release();
  }
  static void TearDownTestSuite() {
    delete sandbox_;
    sandbox_ = nullptr;
  }

  SandboxTest() {
    workspace_ = outer_.path() / "ws";
    fs::create_directories(workspace_);
  }

  ProcessOutcome Shell(const std::string& command, double timeout_s = 0) {
    ProcessRequest request;
    request.argv = {"/bin/sh", "-c", command};
    request.workspace = workspace_;
    request.timeout_s = timeout_s;
    Result<ProcessOutcome> outcome = sandbox_->Run(request);
    EXPECT_TRUE(outcome) << outcome.error().message();
    return outcome ? *outcome : ProcessOutcome{};
  }
  ProcessOutcome Python(const std::string& code, double timeout_s = 0) {
    ProcessRequest request;
    request.argv = {"/usr/bin/python3", "-I", "-B", "-"};
    request.stdin_data = code;
    request.workspace = workspace_;
    request.timeout_s = timeout_s;
    Result<ProcessOutcome> outcome = sandbox_->Run(request);
    EXPECT_TRUE(outcome) << outcome.error().message();
    return outcome ? *outcome : ProcessOutcome{};
  }

  static Sandbox* sandbox_;
  TempDir outer_;
  fs::path workspace_;
};

Sandbox* SandboxTest::sandbox_ = nullptr;

TEST_F(SandboxTest, RunsCommandsInTheWorkspace) {
  ProcessOutcome out = Shell("echo hello; echo oops >&2; echo data > made.txt; pwd; exit 3");
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.stdout_text, "hello\n/workspace\n");
  EXPECT_EQ(out.stderr_text, "oops\n");
  EXPECT_EQ(ReadFile(workspace_ / "made.txt"), "data\n");
  EXPECT_FALSE(out.timed_out);
}

TEST_F(SandboxTest, PythonRunsFromStdin) {
  ProcessOutcome out = Python("import sys\nprint(sum(range(10)), sys.version_info.major)\n");
  EXPECT_EQ(out.exit_code, 0) << out.stderr_text;
  EXPECT_EQ(out.stdout_text, "45 3\n");
}

TEST_F(SandboxTest, CannotConnectOut) {
  // A real listener on the host's loopback: the sandbox must not reach it.
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t length = sizeof(address);
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  int port = ntohs(address.sin_port);
  ProcessOutcome out = Python(
      "import socket\n"
      "for family, addr in ((socket.AF_INET, ('127.0.0.1', " +
      std::to_string(port) +
      ")),\n"
      "                     (socket.AF_INET6, ('::1', " +
      std::to_string(port) +
      ")),\n"
      "                     (socket.AF_INET, ('1.1.1.1', 53))):\n"
      "    try:\n"
      "        s = socket.socket(family, socket.SOCK_STREAM)\n"
      "        s.settimeout(2)\n"
      "        s.connect(addr)\n"
      "        print('CONNECTED', addr)\n"
      "    except OSError as e:\n"
      "        print('blocked', e.errno)\n"
      "for family in (socket.AF_PACKET, socket.AF_NETLINK):\n"
      "    try:\n"
      "        socket.socket(family, socket.SOCK_RAW)\n"
      "        print('OPENED', family)\n"
      "    except OSError as e:\n"
      "        print('blocked', e.errno)\n");
  EXPECT_EQ(out.stdout_text.find("CONNECTED"), std::string::npos) << out.stdout_text;
  EXPECT_EQ(out.stdout_text.find("OPENED"), std::string::npos) << out.stdout_text;
  EXPECT_NE(out.stdout_text.find("blocked 97"), std::string::npos) << out.stdout_text;
  EXPECT_LT(accept(listener, nullptr, nullptr), 0);  // Nobody connected.
  close(listener);
  // Unix sockets still work (programs use them internally).
  ProcessOutcome local = Python("import socket\na, b = socket.socketpair()\nprint('ok')\n");
  EXPECT_EQ(local.stdout_text, "ok\n") << local.stderr_text;
}

TEST_F(SandboxTest, CannotReadHostSecrets) {
  std::string home = std::getenv("HOME") ? std::getenv("HOME") : "/root";
  fs::path secret = outer_.Write("host-secret.txt", "HOST-SECRET-VALUE");
  ProcessOutcome out = Shell("cat /etc/shadow; ls -a " + home + "/.ssh; cat " + secret.string() +
                             "; cat " + fs::absolute(workspace_).string() + "/../host-secret.txt");
  EXPECT_NE(out.exit_code, 0);
  EXPECT_EQ(out.stdout_text.find("HOST-SECRET-VALUE"), std::string::npos);
  EXPECT_EQ(out.stdout_text.find("root:"), std::string::npos);
  EXPECT_NE(out.stderr_text.find("/etc/shadow: No such file"), std::string::npos)
      << out.stderr_text;
  EXPECT_EQ(out.stdout_text, "");
}

TEST_F(SandboxTest, CannotWriteOutsideTheWorkspace) {
  std::string marker = fmt::format("tandem-escape-{}", getpid());
  ProcessOutcome out = Shell("for p in /" + marker + " /usr/" + marker + " /etc/" + marker +
                             " /workspace/../" + marker +
                             "; do echo x > $p && echo WROTE $p; "
                             "done; echo t > /tmp/" +
                             marker + " && echo private-tmp-ok");
  EXPECT_EQ(out.stdout_text, "private-tmp-ok\n") << out.stderr_text;
  EXPECT_FALSE(fs::exists("/" + marker));
  EXPECT_FALSE(fs::exists("/usr/" + marker));
  EXPECT_FALSE(fs::exists("/etc/" + marker));
  EXPECT_FALSE(fs::exists("/tmp/" + marker));  // /tmp inside is private.
  EXPECT_FALSE(fs::exists(outer_.path() / marker));
}

TEST_F(SandboxTest, EnvironmentHoldsNoParentSecrets) {
  setenv("TANDEM_TEST_PARENT_SECRET", "sk-parent-secret-123", 1);
  ProcessOutcome out = Shell(
      "env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; "
      "ls /proc | grep -c '^[0-9]'");
  unsetenv("TANDEM_TEST_PARENT_SECRET");
  EXPECT_EQ(out.stdout_text.find("sk-parent-secret"), std::string::npos) << out.stdout_text;
  EXPECT_NE(out.stdout_text.find("HOME=/workspace"), std::string::npos);
}

TEST_F(SandboxTest, HasNoCapabilitiesAndIsNotRoot) {
  ProcessOutcome out = Shell("id -u; grep CapEff /proc/self/status");
  EXPECT_EQ(out.stdout_text, "65534\nCapEff:\t0000000000000000\n");
}

TEST_F(SandboxTest, PtraceAndIoUringAreDenied) {
  ProcessOutcome out = Python(
      "import ctypes, os\n"
      "libc = ctypes.CDLL(None, use_errno=True)\n"
      "print('ptrace', libc.ptrace(0, 0, 0, 0), ctypes.get_errno())\n"
      "params = ctypes.create_string_buffer(120)\n"
      "print('io_uring', libc.syscall(425, 4, params), ctypes.get_errno())\n"
      "print('unshare', libc.unshare(0x10000000), ctypes.get_errno())\n");
  EXPECT_EQ(out.stdout_text, "ptrace -1 1\nio_uring -1 1\nunshare -1 1\n") << out.stderr_text;
}

TEST_F(SandboxTest, ForkBombIsContainedAndCleanedUp) {
  ProcessOutcome out = Shell("f() { f | f & }; f; sleep 1; echo survived", 3);
  // Whether the shell gives up or is killed at the deadline, nothing of it may be left.
  // The process cap makes fork fail ("Cannot fork") long before the host would notice.
  EXPECT_TRUE(out.timed_out || out.stderr_text.find("fork") != std::string::npos)
      << out.Describe() << out.stderr_text;
  ProcessOutcome after = Shell("echo responsive");
  EXPECT_EQ(after.stdout_text, "responsive\n");
  EXPECT_FALSE(after.timed_out);
}

TEST_F(SandboxTest, MemoryHogFails) {
  ProcessOutcome out = Python("x = bytearray(2 * 1024**3)\nprint('ALLOCATED')\n");
  EXPECT_NE(out.exit_code, 0);
  EXPECT_EQ(out.stdout_text.find("ALLOCATED"), std::string::npos);
  EXPECT_NE(out.stderr_text.find("MemoryError"), std::string::npos) << out.stderr_text;
}

TEST_F(SandboxTest, EndlessLoopIsKilledAtTheDeadline) {
  ProcessOutcome out = Shell("while :; do :; done", 1);
  EXPECT_TRUE(out.timed_out);
  EXPECT_NE(out.Describe().find("wall-clock"), std::string::npos);
}

TEST_F(SandboxTest, CpuLimitStopsBusyLoop) {
  ProcessOutcome out = Python("while True: pass\n");  // cpu_s = 2 < timeout 10.
  EXPECT_FALSE(out.timed_out);
  EXPECT_EQ(out.exit_code, 128 + SIGXCPU);
  EXPECT_NE(out.Describe().find("CPU time limit"), std::string::npos);
}

TEST_F(SandboxTest, DiskFillStopsAtLimits) {
  ProcessOutcome out = Shell(
      "head -c 5000000 /dev/zero > big; echo $?; "
      "head -c 5000000 /dev/zero > /tmp/big; echo $?");
  std::error_code error;
  EXPECT_LE(fs::file_size(workspace_ / "big", error), 1u << 20);
  EXPECT_EQ(out.stdout_text.find("0\n"), std::string::npos) << out.stdout_text;
}

TEST_F(SandboxTest, BackgroundProcessesDieWithTheRun) {
  ProcessOutcome out = Shell("sleep 100 & echo started", 8);
  EXPECT_EQ(out.stdout_text, "started\n");
  EXPECT_FALSE(out.timed_out);
}

TEST_F(SandboxTest, OutputIsCappedKeepingHeadAndTail) {
  ProcessOutcome out = Shell("seq 1 100000");
  EXPECT_TRUE(out.output_truncated);
  EXPECT_TRUE(out.stdout_text.starts_with("1\n2\n3\n"));
  EXPECT_TRUE(out.stdout_text.ends_with("99999\n100000\n"));
  EXPECT_NE(out.stdout_text.find("bytes omitted"), std::string::npos);
  EXPECT_LE(out.stdout_text.size(), 4096u + 64);
}

TEST_F(SandboxTest, CancellationKillsTheRun) {
  CancellationToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    token.Cancel();
  });
  ProcessRequest request;
  request.argv = {"/bin/sh", "-c", "sleep 30"};
  request.workspace = workspace_;
  request.cancel = &token;
  Result<ProcessOutcome> out = sandbox_->Run(request);
  canceller.join();
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->cancelled);
}

TEST(SandboxSetupTest, MissingBubblewrapIsRefusedClearly) {
  SandboxOptions options;
  options.bwrap = "/nonexistent/bwrap";
  auto created = Sandbox::Create(options);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(created.error().message().find("sandbox = \"none\""), std::string::npos);
}

TEST(SandboxSetupTest, ExecToolsRefuseWhenTheSandboxIsMissing) {
  Registry registry;
  SandboxOptions options;
  options.bwrap = "/nonexistent/bwrap";
  ASSERT_TRUE(RegisterExecTools(registry, options));
  TempDir dir;
  ToolContext context;
  context.workspace_root = dir.path();
  auto result = registry.Invoke("execute_shell", {{"command", "echo hi"}}, context);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kFailedPrecondition);
}

TEST(SandboxSetupTest, UnsandboxedModeStillClearsTheEnvironmentAndLimitsTime) {
  SandboxOptions options;
  options.mode = SandboxMode::kNone;
  options.limits.timeout_s = 1;
  auto sandbox = Sandbox::Create(options);
  ASSERT_TRUE(sandbox) << sandbox.error().message();
  TempDir dir;
  setenv("TANDEM_TEST_PARENT_SECRET", "sk-parent-secret-456", 1);
  ProcessRequest request;
  request.argv = {"/bin/sh", "-c", "env; pwd; sleep 30 & wait"};
  request.workspace = dir.path();
  Result<ProcessOutcome> out = (*sandbox)->Run(request);
  unsetenv("TANDEM_TEST_PARENT_SECRET");
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_TRUE(out->timed_out);
  EXPECT_EQ(out->stdout_text.find("sk-parent-secret"), std::string::npos);
  EXPECT_NE(out->stdout_text.find(fs::absolute(dir.path()).string()), std::string::npos);
}

TEST(SandboxSetupTest, SeccompFilterCompiles) {
  Result<std::string> bpf = BuildSeccompFilter();
  ASSERT_TRUE(bpf) << bpf.error().message();
  EXPECT_GT(bpf->size(), 8u * 20);  // sock_filter instructions.
  EXPECT_EQ(bpf->size() % 8, 0u);
}

TEST_F(SandboxTest, ExecToolsReportExitAndOutput) {
  Registry registry;
  SandboxOptions options;
  options.limits.timeout_s = 10;
  ASSERT_TRUE(RegisterExecTools(registry, options));
  ToolContext context;
  context.workspace_root = workspace_;
  auto shell = registry.Invoke("execute_shell", {{"command", "echo out; exit 2"}}, context);
  ASSERT_TRUE(shell) << shell.error().message();
  EXPECT_TRUE(shell->is_error);
  EXPECT_EQ(shell->output, "[exit 2]\nout\n");
  auto python =
      registry.Invoke("execute_python", {{"code", "open('p.txt','w').write('hi')"}}, context);
  ASSERT_TRUE(python) << python.error().message();
  EXPECT_FALSE(python->is_error) << python->output;
  EXPECT_EQ(ReadFile(workspace_ / "p.txt"), "hi");
}

}  // namespace
}  // namespace tandem::tools
