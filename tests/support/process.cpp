#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

namespace tandem::testing {
namespace {

// What a forked child execs, built before the fork: a child of a multi-threaded process may only
// make async-signal-safe calls, since allocating (setenv, vectors) can wait forever on a lock
// another thread held at the moment of the fork.
class PreparedExec {
 public:
  PreparedExec(const std::vector<std::string>& argv, const ProcessOptions& options)
      : working_dir_(options.working_dir), argv_(argv) {
    for (char** entry = environ; *entry != nullptr; ++entry) {
      std::string_view text(*entry);
      if (!options.env.contains(std::string(text.substr(0, text.find('='))))) {
        env_.emplace_back(text);
      }
    }
    for (const auto& [key, value] : options.env)
      env_.push_back(key + "=" + value);
    for (std::string& entry : env_)
      envp_.push_back(entry.data());
    envp_.push_back(nullptr);
    for (std::string& arg : argv_)
      args_.push_back(arg.data());
    args_.push_back(nullptr);
  }

  // In the child: enters the working directory and execs; async-signal-safe.
  [[noreturn]] void Exec() const {
    if (!working_dir_.empty() && chdir(working_dir_.c_str()) != 0) _exit(127);
    execve(args_[0], args_.data(), envp_.data());
    _exit(127);
  }

 private:
  std::string working_dir_;
  std::vector<std::string> argv_, env_;
  std::vector<char*> args_, envp_;
};

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options) {
  PreparedExec exec(argv, options);
  int in[2], out[2], err[2];
  if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]})
      close(fd);
    exec.Exec();
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!options.stdin_text.empty()) {
    ssize_t ignored = write(in[1], options.stdin_text.data(), options.stdin_text.size());
    (void)ignored;
  }
  close(in[1]);
  ProcessResult result;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  char buffer[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

int SpawnProcess(const std::vector<std::string>& argv, const ProcessOptions& options,
                 const std::string& output_path) {
  PreparedExec exec(argv, options);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0) _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    exec.Exec();
  }
  return pid;
}

ProcessResult RunTandem(const std::vector<std::string>& args, const ProcessOptions& options) {
  std::vector<std::string> argv = {TANDEM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, options);
}

}  // namespace tandem::testing
