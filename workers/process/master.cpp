// Master: synchronous signal handling with sigtimedwait, so no logic runs in a handler.
#include "workers/process/master.hpp"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

#include "core/log.hpp"
#include "workers/process/signals.hpp"

namespace ticketing {
namespace {

using Clock = std::chrono::steady_clock;

// A child that dies sooner than this after its start counts as crash-looping.
constexpr auto kQuickDeath = std::chrono::seconds(2);
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::seconds(10);

sigset_t MasterSignals() {
  sigset_t set = StopSignals();
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

Master::Master(const Config& config, Metrics& metrics, std::string unix_path,
               ChildMain child_main)
    : config_(config),
      metrics_(metrics),
      unix_path_(std::move(unix_path)),
      child_main_(std::move(child_main)) {
  struct stat named {};
  if (!unix_path_.empty() && stat(unix_path_.c_str(), &named) == 0) socket_inode_ = named.st_ino;
  for (int i = 0; i < config.workers; ++i) slots_.push_back(Slot{ChildRole::kServer, 0, {}, {}, 0});
  slots_.push_back(Slot{ChildRole::kHousekeeper, 0, {}, {}, 0});
}

void Master::Spawn(Slot& slot) {
  const pid_t pid = fork();
  if (pid < 0) {
    Log(LogLevel::kError, "fork failed").Errno(errno);
    slot.respawn_at = Clock::now() + kMaxBackoff;
    return;
  }
  if (pid == 0) {
    // The child: die with the master, and take stop signals only between requests.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    const sigset_t master_set = MasterSignals();
    sigprocmask(SIG_UNBLOCK, &master_set, nullptr);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGHUP, SIG_IGN);
    InstallStopHandlers();
    const sigset_t stop = StopSignals();
    sigprocmask(SIG_BLOCK, &stop, nullptr);
    if (getppid() == 1) _exit(0);  // the master died before prctl took effect
    InitLog(ParseLogLevel(config_.log_level),
            slot.role == ChildRole::kServer ? "worker" : "housekeeper");
    int code = 1;
    try {
      code = child_main_(slot.role);
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "child failed").Str("detail", e.what());
    }
    FlushLog();
    _exit(code);
  }
  slot.pid = pid;
  slot.started = Clock::now();
  Log(LogLevel::kInfo, "child started")
      .Int("child_pid", pid)
      .Str("child_role", slot.role == ChildRole::kServer ? "worker" : "housekeeper");
}

void Master::ReapChildren() {
  for (;;) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    auto slot = std::find_if(slots_.begin(), slots_.end(), [pid](const Slot& s) { return s.pid == pid; });
    if (slot == slots_.end()) continue;
    slot->pid = 0;
    Log log(stopping_ ? LogLevel::kInfo : LogLevel::kWarn, "child exited");
    log.Int("child_pid", pid);
    if (WIFSIGNALED(status)) log.Int("signal", WTERMSIG(status));
    if (WIFEXITED(status)) log.Int("exit_code", WEXITSTATUS(status));
    if (stopping_) continue;
    metrics_.Increment(Counter::kWorkerRestarts);
    const auto now = Clock::now();
    slot->quick_deaths = now - slot->started < kQuickDeath ? slot->quick_deaths + 1 : 0;
    const auto backoff =
        slot->quick_deaths == 0
            ? std::chrono::milliseconds(0)
            : std::min<std::chrono::milliseconds>(kFirstBackoff * (1 << std::min(slot->quick_deaths - 1, 10)),
                                                  kMaxBackoff);
    slot->respawn_at = now + backoff;
    if (backoff.count() > 0) {
      log.Int("respawn_in_ms", backoff.count()).Int("quick_deaths", slot->quick_deaths);
    }
  }
}

void Master::BeginStop() {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ = Clock::now() + std::chrono::seconds(config_.shutdown_grace_seconds) +
                   std::chrono::seconds(1);
  // Removing the socket's name first makes new connects fail fast (nginx moves to another
  // pool) while the children drain what is already queued.
  // Only if the name is still ours: a replacement pool may already have bound the same path.
  if (!unix_path_.empty()) {
    struct stat named {};
    if (stat(unix_path_.c_str(), &named) == 0 && named.st_ino == socket_inode_) {
      unlink(unix_path_.c_str());
    }
  }
  Log(LogLevel::kInfo, "graceful stop").Int("children", static_cast<int64_t>(slots_.size()));
  for (const Slot& slot : slots_) {
    if (slot.pid > 0) kill(slot.pid, SIGTERM);
  }
}

void Master::KillRemaining() {
  for (const Slot& slot : slots_) {
    if (slot.pid > 0) {
      Log(LogLevel::kError, "child did not stop in time; killing").Int("child_pid", slot.pid);
      kill(slot.pid, SIGKILL);
    }
  }
}

bool Master::AllExited() const {
  return std::all_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.pid == 0; });
}

std::chrono::milliseconds Master::NextWakeup() const {
  auto wake = std::chrono::milliseconds(1000);
  const auto now = Clock::now();
  for (const Slot& slot : slots_) {
    if (slot.pid == 0 && !stopping_) {
      wake = std::min(wake, std::max(std::chrono::milliseconds(0),
                                     std::chrono::duration_cast<std::chrono::milliseconds>(
                                         slot.respawn_at - now)));
    }
  }
  return wake;
}

int Master::Run() {
  const sigset_t signals = MasterSignals();
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  for (Slot& slot : slots_) Spawn(slot);
  bool killed = false;
  for (;;) {
    const auto wait = NextWakeup();
    timespec timeout{static_cast<time_t>(wait.count() / 1000),
                     static_cast<long>(wait.count() % 1000) * 1000000L};
    siginfo_t info;
    const int sig = sigtimedwait(&signals, &info, &timeout);
    if (sig == SIGCHLD) ReapChildren();
    if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) BeginStop();
    if (stopping_) {
      ReapChildren();
      if (AllExited()) break;
      if (!killed && Clock::now() > stop_deadline_) {
        KillRemaining();
        killed = true;
      }
      continue;
    }
    const auto now = Clock::now();
    for (Slot& slot : slots_) {
      if (slot.pid == 0 && slot.respawn_at <= now) Spawn(slot);
    }
  }
  Log(LogLevel::kInfo, "master stopped");
  return 0;
}

}  // namespace ticketing
