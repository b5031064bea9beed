// Signal plumbing shared by the master and its children: handlers only set flags.
#pragma once

#include <csignal>

namespace ticketing {

// Set by SIGTERM/SIGINT/SIGQUIT in a child; checked between requests.
extern volatile sig_atomic_t g_stop_requested;

// The signals that stop a process; blocked everywhere except inside ppoll.
sigset_t StopSignals();
// Installs the flag-setting handler for the stop signals (no SA_RESTART: ppoll must wake).
void InstallStopHandlers();

}  // namespace ticketing
