// "q1.<base64url(concert:user:entry:activeUntilMs)>.<base64url(HMAC-SHA256)>"
#include "workers/services/queue_token.hpp"

#include <charconv>
#include <vector>

#include "core/crypto.hpp"

namespace ticketing {
namespace {

constexpr std::string_view kPrefix = "q1.";
constexpr size_t kMaxTokenBytes = 512;

bool ParseFields(std::string_view text, QueueClaims& claims) {
  int64_t* fields[] = {&claims.concert_id, &claims.user_id, &claims.entry,
                       &claims.active_until_ms};
  size_t start = 0;
  for (size_t i = 0; i < std::size(fields); ++i) {
    const size_t end = i + 1 < std::size(fields) ? text.find(':', start) : text.size();
    if (end == std::string_view::npos) return false;
    const auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + end, *fields[i]);
    if (ec != std::errc() || ptr != text.data() + end || *fields[i] < 0) return false;
    start = end + 1;
  }
  return claims.concert_id > 0 && claims.user_id > 0 && claims.entry > 0;
}

}  // namespace

QueueTokenCodec::QueueTokenCodec(std::string_view secret)
    : key_(HmacSha256(secret, "ticketing queue token v1")) {}

std::string QueueTokenCodec::Issue(const QueueClaims& c) const {
  const std::string payload =
      Base64UrlEncode(std::to_string(c.concert_id) + ":" + std::to_string(c.user_id) + ":" +
                      std::to_string(c.entry) + ":" + std::to_string(c.active_until_ms));
  std::string token(kPrefix);
  token += payload;
  return token + "." + Base64UrlEncode(HmacSha256(key_, token));
}

std::optional<QueueClaims> QueueTokenCodec::Verify(std::string_view token) const {
  if (token.size() > kMaxTokenBytes || !token.starts_with(kPrefix)) return std::nullopt;
  const size_t dot = token.rfind('.');
  if (dot <= kPrefix.size()) return std::nullopt;
  const auto signature = Base64UrlDecode(token.substr(dot + 1));
  if (!signature || !ConstantTimeEquals(HmacSha256(key_, token.substr(0, dot)), *signature)) {
    return std::nullopt;
  }
  const auto payload = Base64UrlDecode(token.substr(kPrefix.size(), dot - kPrefix.size()));
  QueueClaims claims;
  if (!payload || !ParseFields(*payload, claims)) return std::nullopt;
  return claims;
}

}  // namespace ticketing
