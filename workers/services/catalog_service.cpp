// CatalogService: cache lookups first, the store on a miss or after the window.
#include "workers/services/catalog_service.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/json.hpp"

namespace ticketing {
namespace {

// Ids come from the URL: without a bound, a scan over ids would grow the cache without end.
constexpr size_t kMaxCachedEntries = 1024;

template <typename Map>
void Bound(Map& map) {
  if (map.size() >= kMaxCachedEntries) map.clear();
}

// Returns the free pages of every malloc arena to the system (glibc; elsewhere a no-op).
void ReleaseFreeMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace

std::string RenderConcert(const Concert& concert) {
  JsonBuilder json;
  json.Begin().Int("id", concert.id).Str("title", concert.title).BeginArray("schedules");
  for (const auto& s : concert.schedules) {
    json.BeginObject()
        .Int("id", s.id)
        .Str("startsAt", s.starts_at)
        .Int("seatsTotal", s.seats_total)
        .Int("seatsAvailable", s.seats_available)
        .End();
  }
  return json.EndArray().End().Take();
}

std::string RenderSeats(int64_t schedule_id, const SeatMap& map) {
  std::string out;
  out.reserve(64 + map.seats.size() * 48);
  out += "{\"scheduleId\":";
  out += std::to_string(schedule_id);
  out += ",\"seats\":[";
  bool first = true;
  for (const auto& seat : map.seats) {
    if (!first) out += ',';
    first = false;
    out += "{\"id\":";
    out += std::to_string(seat.id);
    out += ",\"price\":";
    out += std::to_string(seat.price);
    out += ",\"status\":\"";
    out += seat.status;
    out += "\"}";
  }
  out += "]}";
  return out;
}

std::optional<std::string> CatalogService::LoadConcert(int64_t concert_id) {
  if (shared_ != nullptr) {
    if (auto json = shared_->GetConcert(concert_id)) {
      shared_->MarkWanted(concert_id);
      return json;
    }
  }
  const auto concert = store_.FindConcert(concert_id);
  if (!concert) return std::nullopt;
  std::string json = RenderConcert(*concert);
  if (shared_ != nullptr) {
    shared_->PutConcert(concert_id, json);
    shared_->MarkWanted(concert_id);
  }
  return json;
}

std::optional<std::string> CatalogService::ConcertJson(int64_t concert_id) {
  const auto now = std::chrono::steady_clock::now();
  if (!concerts_.contains(concert_id)) Bound(concerts_);
  Entry& entry = concerts_[concert_id];
  if (entry.expires <= now) {
    entry.json = LoadConcert(concert_id);
    entry.expires = now + window_;
  }
  return entry.json;
}

void CatalogService::RefreshShared() {
  if (shared_ == nullptr) return;
  for (const int64_t concert_id : shared_->Wanted()) {
    if (const auto concert = store_.FindConcert(concert_id)) {
      shared_->PutConcert(concert_id, RenderConcert(*concert));
    }
  }
}

std::optional<SeatMapCache::Entry> SeatMapCache::Get(int64_t schedule_id,
                                                     std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(schedule_id);
  if (found == entries_.end() || found->second.expires <= now) return std::nullopt;
  return found->second;
}

void SeatMapCache::Put(int64_t schedule_id, Entry entry) {
  std::lock_guard lock(mutex_);
  if (!entries_.contains(schedule_id)) Bound(entries_);
  entries_[schedule_id] = std::move(entry);
}

SeatMapCache::Entry CatalogService::LoadSeats(int64_t schedule_id,
                                              std::chrono::steady_clock::time_point now) {
  const auto map = store_.FindSeats(schedule_id);
  return SeatMapCache::Entry{
      now + window_,
      map ? std::make_shared<const std::string>(RenderSeats(schedule_id, *map)) : nullptr,
      map ? map->concert_id : 0};
}

std::shared_ptr<const std::string> CatalogService::SeatsJson(int64_t concert_id,
                                                             int64_t schedule_id) {
  const auto now = std::chrono::steady_clock::now();
  auto entry = seat_maps_->Get(schedule_id, now);
  if (!entry) {
    // Threads that miss together each load once; the last one's copy stays.
    entry = LoadSeats(schedule_id, now);
    seat_maps_->Put(schedule_id, *entry);
    // The load's result set and rows (15 MB for 110,000 seats) were freed into this thread's
    // malloc arena, which would keep them: a child of 12 threads grew to 170-250 MB. Give the
    // free pages back; this runs once per schedule and cache window.
    ReleaseFreeMemory();
  }
  // Shared, not copied: every request for the map writes the cached bytes.
  if (!entry->json || entry->concert_id != concert_id) return nullptr;
  return entry->json;
}

std::optional<int64_t> CatalogService::ConcertOfSchedule(int64_t schedule_id) {
  const auto now = std::chrono::steady_clock::now();
  if (!schedule_owners_.contains(schedule_id)) Bound(schedule_owners_);
  Entry& entry = schedule_owners_[schedule_id];
  // Known owners are kept; an unknown id is asked again after the window (it may be created).
  if (entry.concert_id == 0 && entry.expires <= now) {
    entry.concert_id = store_.FindScheduleConcert(schedule_id).value_or(0);
    entry.expires = now + window_;
  }
  if (entry.concert_id == 0) return std::nullopt;
  return entry.concert_id;
}

}  // namespace ticketing
