// ReservationService: the database decides every hold; Redis only turns away the crowd early.
#include "workers/services/reservation_service.hpp"

#include "core/json.hpp"
#include "workers/services/tx_retry.hpp"
#include "workers/services/wallet_service.hpp"

namespace ticketing {
namespace {

// Deletes the gate only if it still names this user (a later holder's gate is left alone).
constexpr char kCompareAndDelete[] = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

std::string RenderHold(const HoldOutcome& hold, int64_t schedule_id, int64_t seat_id) {
  return JsonBuilder()
      .Begin()
      .Int("reservationId", hold.reservation_id)
      .Int("scheduleId", schedule_id)
      .Int("seatId", seat_id)
      .Int("price", hold.price)
      .Str("status", "HELD")
      .Str("expiresAt", hold.expires_at)
      .End()
      .Take();
}

}  // namespace

std::string SeatGateKey(int64_t schedule_id, int64_t seat_id) {
  return "seat:" + std::to_string(schedule_id) + ":" + std::to_string(seat_id);
}

ReservationService::GateResult ReservationService::ClaimGate(const std::string& key,
                                                             int64_t user_id) {
  const std::string user = std::to_string(user_id);
  const std::string ttl_ms = std::to_string(config_.hold_ttl_seconds * 1000);
  // One round trip (Redis >= 7.0): SET ... NX GET sets the key only when it is absent and
  // answers its previous value - nil when this call took the gate.
  const RedisReply reply = redis_.Command({"SET", key, user, "NX", "PX", ttl_ms, "GET"});
  if (!reply) return GateResult::kUnavailable;
  if (reply->type == REDIS_REPLY_NIL) return GateResult::kOurs;
  // Taken: by this same user (a repeated click goes on to return the existing hold) or not.
  if (reply->type == REDIS_REPLY_STRING && std::string_view(reply->str, reply->len) == user) {
    return GateResult::kOurs;
  }
  return GateResult::kTaken;
}

void ReservationService::ReleaseGate(const std::string& key, int64_t user_id) {
  redis_.Command({"EVAL", kCompareAndDelete, "1", key, std::to_string(user_id)});
}

HttpResponse ReservationService::Hold(const HttpRequest& request, int64_t user_id,
                                      int64_t schedule_id, int64_t seat_id) {
  const auto concert_id = catalog_.ConcertOfSchedule(schedule_id);
  if (!concert_id) throw ApiError(ErrorCode::kNotFound, "schedule not found");
  gate_.RequireActive(request, user_id, *concert_id);

  const std::string gate_key = SeatGateKey(schedule_id, seat_id);
  if (ClaimGate(gate_key, user_id) == GateResult::kTaken) {
    throw ApiError(ErrorCode::kConflict, "seat is held by another user");
  }
  // With Redis down (kUnavailable) every request goes to the database, which stays correct.
  HoldOutcome hold;
  try {
    hold = WithTxRetry(config_.db_tx_retries, metrics_, [&] {
      return store_.HoldSeat(user_id, schedule_id, seat_id, config_.hold_ttl_seconds * 1000);
    });
  } catch (...) {
    ReleaseGate(gate_key, user_id);
    throw;
  }
  if (hold.status >= 400) {
    // A sold seat keeps its gate (every later request is turned away early); otherwise the
    // gate must not outlive the reason the database gave.
    if (hold.detail != "seat is already sold") ReleaseGate(gate_key, user_id);
    throw ApiError(ErrorCodeForStatus(hold.status), hold.detail);
  }
  return HttpResponse::Json(hold.status, RenderHold(hold, schedule_id, seat_id));
}

HttpResponse ReservationService::Confirm(int64_t user_id, int64_t reservation_id,
                                         const std::string& key) {
  const std::string hash = RequestHash("confirm", user_id, reservation_id);
  const MoneyOutcome outcome = WithTxRetry(config_.db_tx_retries, metrics_, [&] {
    return store_.Confirm(user_id, reservation_id, key, hash);
  });
  HttpResponse response = MoneyResponse(outcome, user_id, cache_);
  if (outcome.status == 200 && !outcome.replayed && listener_ != nullptr && outcome.schedule_id) {
    if (const auto concert = catalog_.ConcertOfSchedule(*outcome.schedule_id)) {
      listener_->OnPaid(user_id, *concert);
    }
  }
  return response;
}

HttpResponse ReservationService::Get(int64_t user_id, int64_t reservation_id) {
  const auto r = WithTxRetry(config_.db_tx_retries, metrics_,
                             [&] { return store_.FindReservation(reservation_id); });
  if (!r) throw ApiError(ErrorCode::kNotFound, "reservation not found");
  if (r->user_id != user_id) {
    throw ApiError(ErrorCode::kForbidden, "reservation belongs to another user");
  }
  JsonBuilder json;
  json.Begin()
      .Int("reservationId", r->id)
      .Int("userId", r->user_id)
      .Int("scheduleId", r->schedule_id)
      .Int("seatId", r->seat_id)
      .Int("price", r->price)
      .Str("status", r->status)
      .Str("expiresAt", r->expires_at)
      .Str("createdAt", r->created_at);
  if (r->confirmed_at.empty()) {
    json.Null("confirmedAt");
  } else {
    json.Str("confirmedAt", r->confirmed_at);
  }
  return HttpResponse::Json(200, json.End().Take());
}

}  // namespace ticketing
