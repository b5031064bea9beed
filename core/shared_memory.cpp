// MapShared on mmap(2).
#include "core/shared_memory.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ticketing {

void* MapShared(size_t bytes) {
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    throw std::runtime_error("mmap of shared memory failed: " + std::string(std::strerror(errno)));
  }
  return mem;
}

}  // namespace ticketing
