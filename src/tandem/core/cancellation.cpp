#include "tandem/core/cancellation.h"

#include <csignal>
#include <cstdlib>

namespace tandem {
namespace {

std::atomic<CancellationToken*> g_token{nullptr};
volatile std::sig_atomic_t g_signal = 0;
struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

extern "C" void HandleSignal(int signal_number) {
  g_signal = signal_number;
  if (CancellationToken* token = g_token.load()) token->Cancel();
  // Restore the default action: the next signal kills the process if the task does not stop.
  std::signal(signal_number, SIG_DFL);
}

}  // namespace

SignalCancellation::SignalCancellation(CancellationToken& token) {
  g_token.store(&token);
  g_signal = 0;
  struct sigaction action {};
  action.sa_handler = HandleSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

SignalCancellation::~SignalCancellation() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
  g_token.store(nullptr);
}

int SignalCancellation::ReceivedSignal() {
  return g_signal;
}

}  // namespace tandem
