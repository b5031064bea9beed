// A thread about to wait on another process for long (a database round trip) says so first,
// so that whoever schedules the thread's work can hand it to another thread meanwhile (the
// worker's request loop: workers/process/child.cpp, "poll slots").
#pragma once

namespace ticketing {

class BlockingObserver {
 public:
  virtual void WillBlock() = 0;

 protected:
  ~BlockingObserver() = default;
};

inline thread_local BlockingObserver* t_blocking_observer = nullptr;

// The observer of the calling thread (null: none).
inline void SetBlockingObserver(BlockingObserver* observer) { t_blocking_observer = observer; }

inline void WillBlock() {
  if (t_blocking_observer) t_blocking_observer->WillBlock();
}

}  // namespace ticketing
