// Runs a program (usually the built `tandem` CLI) and captures its output and exit status.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tandem::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal.
  std::string out;
  std::string err;
};

struct ProcessOptions {
  std::string working_dir;                 // Empty: inherit.
  std::map<std::string, std::string> env;  // Added to (or replacing in) the environment.
  std::string stdin_text;                  // Fed to stdin, then closed (never a terminal).
};

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// RunProcess with TANDEM_BINARY as argv[0].
ProcessResult RunTandem(const std::vector<std::string>& args, const ProcessOptions& options = {});

}  // namespace tandem::testing
