// The pool master: forks the children, respawns the ones that die (with backoff when they keep
// dying), and stops them gracefully on SIGTERM. It never serves a request itself.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/metrics.hpp"

namespace ticketing {

enum class ChildRole { kServer, kHousekeeper };

// Runs in the freshly forked child; its return value is the child's exit code.
using ChildMain = std::function<int(ChildRole)>;

class Master {
 public:
  Master(const Config& config, Metrics& metrics, std::string unix_path, ChildMain child_main);
  // Returns when every child has exited after a stop signal.
  int Run();

 private:
  struct Slot {
    ChildRole role;
    pid_t pid = 0;
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::time_point respawn_at;
    int quick_deaths = 0;
  };

  void Spawn(Slot& slot);
  void ReapChildren();
  void BeginStop();
  void KillRemaining();
  bool AllExited() const;
  std::chrono::milliseconds NextWakeup() const;

  const Config& config_;
  Metrics& metrics_;
  std::string unix_path_;
  ino_t socket_inode_ = 0;
  ChildMain child_main_;
  std::vector<Slot> slots_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_;
};

}  // namespace ticketing
