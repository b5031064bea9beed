// Anonymous MAP_SHARED memory: created by a pool's master before fork, seen by every child.
#pragma once

#include <cstddef>
#include <new>
#include <utility>

namespace ticketing {

// Zero-filled shared memory of `bytes`; throws std::runtime_error when mmap fails.
void* MapShared(size_t bytes);

// Constructs a T in shared memory. Lives as long as the processes; never unmapped.
template <typename T, typename... Args>
T* CreateShared(Args&&... args) {
  return new (MapShared(sizeof(T))) T(std::forward<Args>(args)...);
}

}  // namespace ticketing
