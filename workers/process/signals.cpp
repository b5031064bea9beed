// Flag-only signal handlers.
#include "workers/process/signals.hpp"

namespace ticketing {

volatile sig_atomic_t g_stop_requested = 0;

namespace {
void OnStopSignal(int) { g_stop_requested = 1; }
}  // namespace

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGQUIT);
  return set;
}

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGQUIT, &action, nullptr);
}

}  // namespace ticketing
