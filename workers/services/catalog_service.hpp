// Concert and seat-map reads, served from a per-process cache rendered as JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "workers/repos/stores.hpp"

namespace ticketing {

class CatalogService {
 public:
  // `window`: how long a rendered answer is reused. It is also the longest a seat sold or held
  // meanwhile can still be shown AVAILABLE (docs/architecture.md, "Catalog cache").
  CatalogService(CatalogStore& store, std::chrono::milliseconds window,
                 SharedCatalogCache* shared = nullptr)
      : store_(store), window_(window), shared_(shared) {}

  // JSON of the concert, or nullopt when it does not exist.
  std::optional<std::string> ConcertJson(int64_t concert_id);
  // JSON of the schedule's seats, or nullopt unless the schedule belongs to the concert.
  std::optional<std::string> SeatsJson(int64_t concert_id, int64_t schedule_id);
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
  const Entry& Seats(int64_t schedule_id);
  std::optional<std::string> LoadConcert(int64_t concert_id);

  CatalogStore& store_;
  std::chrono::milliseconds window_;
  SharedCatalogCache* shared_;
  std::unordered_map<int64_t, Entry> concerts_;
  std::unordered_map<int64_t, Entry> seat_maps_;
  // schedule -> concert never changes once a schedule exists; 0 caches "no such schedule".
  std::unordered_map<int64_t, Entry> schedule_owners_;
};

std::string RenderConcert(const Concert& concert);
std::string RenderSeats(int64_t schedule_id, const SeatMap& map);

}  // namespace ticketing
