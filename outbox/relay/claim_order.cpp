// SelectPublishable: the per-key ordering guard of the claim protocol.
#include "outbox/relay/claim_order.hpp"

#include <unordered_map>
#include <unordered_set>

namespace ticketing {

std::vector<size_t> SelectPublishable(const std::vector<OutboxRow>& claimed,
                                      const std::vector<PendingRef>& pending) {
  std::unordered_set<int64_t> mine;
  mine.reserve(claimed.size() * 2);
  for (const auto& row : claimed) mine.insert(row.id);
  // For each user, the first PENDING row this relay does not hold.
  std::unordered_map<int64_t, int64_t> blocked_from;
  for (const auto& ref : pending) {
    if (mine.count(ref.id) != 0) continue;
    auto [it, inserted] = blocked_from.emplace(ref.aggregate_id, ref.id);
    if (!inserted && ref.id < it->second) it->second = ref.id;
  }
  std::vector<size_t> publishable;
  publishable.reserve(claimed.size());
  for (size_t i = 0; i < claimed.size(); ++i) {
    const auto it = blocked_from.find(claimed[i].aggregate_id);
    if (it == blocked_from.end() || claimed[i].id < it->second) publishable.push_back(i);
  }
  return publishable;
}

}  // namespace ticketing
