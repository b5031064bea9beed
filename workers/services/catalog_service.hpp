// Concert and seat-map reads, served from a per-process cache rendered as JSON.
#pragma once
#include <mutex>
#include <memory>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "workers/repos/stores.hpp"

namespace ticketing {

// Rendered seat maps by schedule, shared by the request threads of a worker child (a map of a
// big schedule is megabytes: one copy per child, not per thread). Thread-safe.
class SeatMapCache {
 public:
  struct Entry {
    std::chrono::steady_clock::time_point expires;
    std::shared_ptr<const std::string> json;  // null: no such schedule
    int64_t concert_id = 0;
  };
  // The entry of `schedule_id` when it is still fresh at `now`.
  std::optional<Entry> Get(int64_t schedule_id, std::chrono::steady_clock::time_point now);
  void Put(int64_t schedule_id, Entry entry);

 private:
  std::mutex mutex_;
  std::unordered_map<int64_t, Entry> entries_;
};

class CatalogService {
 public:
  // `window`: how long a rendered answer is reused. It is also the longest a seat sold or held
  // meanwhile can still be shown AVAILABLE (docs/architecture.md, "Catalog cache").
  // `seat_maps`: the child's cache shared by its threads (null: one of its own).
  CatalogService(CatalogStore& store, std::chrono::milliseconds window,
                 SharedCatalogCache* shared = nullptr, SeatMapCache* seat_maps = nullptr)
      : store_(store), window_(window), shared_(shared),
        own_seat_maps_(seat_maps == nullptr ? std::make_unique<SeatMapCache>() : nullptr),
        seat_maps_(seat_maps == nullptr ? own_seat_maps_.get() : seat_maps) {}

  // JSON of the concert, or nullopt when it does not exist.
  std::optional<std::string> ConcertJson(int64_t concert_id);
  // JSON of the schedule's seats (shared with the cache), or null unless the schedule belongs
  // to the concert.
  std::shared_ptr<const std::string> SeatsJson(int64_t concert_id, int64_t schedule_id);
  // The concert a schedule belongs to (for the waiting-room gate), or nullopt.
  std::optional<int64_t> ConcertOfSchedule(int64_t schedule_id);
  // The housekeeper's part: recounts every wanted concert into the shared cache.
  void RefreshShared();

 private:
  struct Entry {
    std::chrono::steady_clock::time_point expires;
    std::optional<std::string> json;
    int64_t concert_id = 0;
  };
  std::optional<std::string> LoadConcert(int64_t concert_id);
  SeatMapCache::Entry LoadSeats(int64_t schedule_id, std::chrono::steady_clock::time_point now);

  CatalogStore& store_;
  std::chrono::milliseconds window_;
  SharedCatalogCache* shared_;
  std::unordered_map<int64_t, Entry> concerts_;
  std::unique_ptr<SeatMapCache> own_seat_maps_;
  SeatMapCache* seat_maps_;
  // schedule -> concert never changes once a schedule exists; 0 caches "no such schedule".
  std::unordered_map<int64_t, Entry> schedule_owners_;
};

std::string RenderConcert(const Concert& concert);
std::string RenderSeats(int64_t schedule_id, const SeatMap& map);

}  // namespace ticketing
