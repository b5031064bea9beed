// The waiting room's data, per concert c (one hash slot, "{c}"):
//   q:{c}:seq       entry numbers             q:{c}:entry     user -> current entry number
//   q:{c}:waiting   zset user by entry number q:{c}:seen      zset user by last poll (ms)
//   q:{c}:active    zset user by session end  q:{c}:deadline  user -> hard session deadline
//   q:{c}:inlet     hash: tick (token bucket), swept (last sweep, ms), rate (cached measured
//                   inlet), first/last_admit (the current run of admissions)
//   q:{c}:admits:S  admissions during second S
//   q:{c}:config    optional operator override: admit_per_sec, max_active
#include "workers/repos/redis_queue_store.hpp"

#include <string>

namespace ticketing {
namespace {

constexpr char kQueueScript[] = R"lua(
local mode, c, user = ARGV[1], ARGV[2], ARGV[3]
local entry_arg, now = tonumber(ARGV[4]), tonumber(ARGV[5])
local rate, max_active = tonumber(ARGV[6]), tonumber(ARGV[7])
local ttl, idle = tonumber(ARGV[8]), tonumber(ARGV[9])
local signed_until = tonumber(ARGV[10])
local p = 'q:{' .. c .. '}:'
-- A paid user's session ends (every payment): nothing else of the concert is read.
if mode == 'end' then
  redis.call('ZREM', p .. 'active', user)
  redis.call('HDEL', p .. 'deadline', user)
  redis.call('ZREM', p .. 'waiting', user)
  redis.call('ZREM', p .. 'seen', user)
  return {2, 0, 0, 0, 0, 0, rate}
end
local active_idle = idle * 4
-- An operator's per-concert override of the inlet (HSET q:{c}:config admit_per_sec N max_active M).
local override = redis.call('HMGET', p .. 'config', 'admit_per_sec', 'max_active')
if tonumber(override[1]) and tonumber(override[1]) >= 1 then rate = tonumber(override[1]) end
if tonumber(override[2]) and tonumber(override[2]) >= 0 then max_active = tonumber(override[2]) end

-- The inlet's state, one hash read once per call: tick (the token bucket), swept (last sweep),
-- rate ("second:admissions per second x1000"), first and last_admit (when the current run of
-- admissions began and last admitted).
local inlet_key = p .. 'inlet'
local inlet = redis.call('HMGET', inlet_key, 'tick', 'swept', 'rate', 'first', 'last_admit')

-- Ended sessions free their slots; entries nobody polls leave the line; then the inlet admits
-- up to `rate` per second (at most one second banked) while active sessions stay under the cap.
-- Most calls find the bucket empty and do nothing more; the sweeps run only when an admission
-- is possible, and at most every 100 ms.
local function admit()
  local last = tonumber(inlet[1]) or (now - 1000)
  if last < now - 1000 then last = now - 1000 end
  local allowance = math.floor((now - last) * rate / 1000)
  if allowance <= 0 then return end
  if now - (tonumber(inlet[2]) or 0) >= 100 then
    for _, u in ipairs(redis.call('ZRANGEBYSCORE', p .. 'active', '-inf', now, 'LIMIT', 0, 1000)) do
      redis.call('ZREM', p .. 'active', u)
      redis.call('HDEL', p .. 'deadline', u)
    end
    for _, u in ipairs(redis.call('ZRANGEBYSCORE', p .. 'seen', '-inf', now - idle, 'LIMIT', 0, 1000)) do
      redis.call('ZREM', p .. 'seen', u)
      redis.call('ZREM', p .. 'waiting', u)
    end
    inlet[2] = now
    redis.call('HSET', inlet_key, 'swept', now)
    redis.call('PEXPIRE', inlet_key, 60000)
  end
  local n = math.min(allowance, max_active - redis.call('ZCARD', p .. 'active'))
  if n <= 0 then return end
  local popped = redis.call('ZPOPMIN', p .. 'waiting', n)
  local admitted = #popped / 2
  if admitted == 0 then return end
  for i = 1, #popped, 2 do
    local u = popped[i]
    local deadline = now + ttl
    redis.call('HSET', p .. 'deadline', u, deadline)
    redis.call('ZADD', p .. 'active', math.min(deadline, now + active_idle), u)
    redis.call('ZREM', p .. 'seen', u)
  end
  local bucket = p .. 'admits:' .. math.floor(now / 1000)
  redis.call('INCRBY', bucket, admitted)
  redis.call('PEXPIRE', bucket, 15000)
  -- A token bucket holding at most one second: admissions spend it, an empty queue or a full
  -- house leaves the rest banked (so the next arrival is admitted at once). A run of
  -- admissions begins again after 15 s without one.
  inlet[1] = last + admitted * 1000 / rate
  if not tonumber(inlet[4]) or now - (tonumber(inlet[5]) or 0) > 15000 then inlet[4] = now end
  inlet[5] = now
  redis.call('HSET', inlet_key, 'tick', tostring(inlet[1]), 'first', inlet[4], 'last_admit', now)
  redis.call('PEXPIRE', inlet_key, 60000)
end

-- Admissions per second x1000 over the last 10 whole seconds, or over the seconds since the
-- current run of admissions began when that is shorter; 0 when nobody was admitted lately.
-- Computed once per second per concert and read from the inlet hash by every other call.
local function admit_rate_x1000()
  local sec = math.floor(now / 1000)
  if inlet[3] then
    local at, value = string.match(inlet[3], '^(%d+):(%d+)$')
    if tonumber(at) == sec then return tonumber(value) end
  end
  local total = 0
  for s = sec - 10, sec - 1 do
    total = total + tonumber(redis.call('GET', p .. 'admits:' .. s) or 0)
  end
  local first = 0
  if tonumber(inlet[4]) and now - (tonumber(inlet[5]) or 0) <= 15000 then first = tonumber(inlet[4]) end
  local window = 10
  if first > 0 then window = math.max(1, math.min(10, sec - math.floor(first / 1000))) end
  local value = math.floor(total * 1000 / window)
  inlet[3] = sec .. ':' .. value
  redis.call('HSET', inlet_key, 'rate', inlet[3])
  redis.call('PEXPIRE', inlet_key, 60000)
  return value
end

-- `e`: the user's current entry number (0 when none).
local function view(e, created)
  local score = redis.call('ZSCORE', p .. 'active', user)
  if score and tonumber(score) > now then
    local deadline = tonumber(redis.call('HGET', p .. 'deadline', user))
    redis.call('ZADD', p .. 'active', math.min(deadline, now + active_idle), user)
    return {1, e, 0, deadline, admit_rate_x1000(), created, rate}
  end
  local rank = redis.call('ZRANK', p .. 'waiting', user)
  if rank then
    redis.call('ZADD', p .. 'seen', now, user)
    return {0, e, rank + 1, 0, admit_rate_x1000(), created, rate}
  end
  return {2, e, 0, 0, admit_rate_x1000(), created, rate}
end

if mode == 'status' and signed_until > now and redis.call('HEXISTS', p .. 'entry', user) == 0 then
  -- Redis lost the concert's state (a restart: no persistence) but the token proves, under our
  -- signature, an admission that has not ended yet: the session is restored, not forgotten.
  redis.call('HSET', p .. 'entry', user, entry_arg)
  redis.call('HSET', p .. 'deadline', user, signed_until)
  redis.call('ZADD', p .. 'active', math.min(signed_until, now + active_idle), user)
  if tonumber(redis.call('GET', p .. 'seq') or 0) < entry_arg then
    redis.call('SET', p .. 'seq', entry_arg)
  end
end
admit()
local current = tonumber(redis.call('HGET', p .. 'entry', user) or 0)
if mode == 'status' then
  if current ~= entry_arg then
    return {2, entry_arg, 0, 0, admit_rate_x1000(), 0, rate}
  end
  return view(current, 0)
end
if current > 0 then
  local v = view(current, 0)
  if v[1] ~= 2 then return v end
end
local number = redis.call('INCR', p .. 'seq')
redis.call('HSET', p .. 'entry', user, number)
redis.call('ZADD', p .. 'waiting', number, user)
redis.call('ZADD', p .. 'seen', now, user)
admit()
return view(number, 1)
)lua";

int64_t Element(const redisReply& reply, size_t i) {
  return i < reply.elements && reply.element[i]->type == REDIS_REPLY_INTEGER
             ? reply.element[i]->integer
             : 0;
}

}  // namespace

std::optional<QueueView> RedisQueueStore::Run(const char* mode, int64_t concert_id,
                                              int64_t user_id, int64_t entry, int64_t now_ms,
                                              const QueueSettings& s, int64_t signed_until_ms) {
  const std::string args[] = {mode,
                              std::to_string(concert_id),
                              std::to_string(user_id),
                              std::to_string(entry),
                              std::to_string(now_ms),
                              std::to_string(s.admit_per_sec),
                              std::to_string(s.max_active),
                              std::to_string(s.active_ttl_ms),
                              std::to_string(s.idle_ms),
                              std::to_string(signed_until_ms)};
  const RedisReply reply =
      redis_.Eval(kQueueScript, {}, std::vector<std::string_view>(std::begin(args), std::end(args)));
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 7) return std::nullopt;
  QueueView view;
  const int64_t status = Element(*reply, 0);
  view.status = status == 1   ? QueueStatus::kActive
                : status == 0 ? QueueStatus::kWaiting
                              : QueueStatus::kExpired;
  view.entry = Element(*reply, 1);
  view.position = Element(*reply, 2);
  view.active_until_ms = Element(*reply, 3);
  view.admit_rate_x1000 = Element(*reply, 4);
  view.created = Element(*reply, 5) == 1;
  view.inlet_per_sec = Element(*reply, 6);
  return view;
}

std::optional<QueueView> RedisQueueStore::Join(int64_t concert_id, int64_t user_id,
                                               int64_t now_ms, const QueueSettings& s) {
  return Run("join", concert_id, user_id, 0, now_ms, s, 0);
}

std::optional<QueueView> RedisQueueStore::Status(int64_t concert_id, int64_t user_id,
                                                 int64_t entry, int64_t signed_until_ms,
                                                 int64_t now_ms, const QueueSettings& s) {
  return Run("status", concert_id, user_id, entry, now_ms, s, signed_until_ms);
}

void RedisQueueStore::End(int64_t concert_id, int64_t user_id) {
  Run("end", concert_id, user_id, 0, 0, QueueSettings{}, 0);
}

}  // namespace ticketing
