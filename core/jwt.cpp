// JWT (RFC 7519) HS256 verification with a constant-time signature check.
#include "core/jwt.hpp"


#include <charconv>
#include <limits>

#include "core/crypto.hpp"
#include "core/json.hpp"

namespace ticketing {
namespace {

constexpr size_t kMaxTokenBytes = 4096;

bool ParseJson(const std::string& text, rapidjson::Document& doc) {
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  return !doc.HasParseError() && doc.IsObject();
}

bool ParseUserId(const rapidjson::Value& sub, int64_t& user_id) {
  if (!sub.IsString() || sub.GetStringLength() == 0 || sub.GetStringLength() > 19) return false;
  const char* begin = sub.GetString();
  const char* end = begin + sub.GetStringLength();
  const auto [ptr, ec] = std::from_chars(begin, end, user_id);
  return ec == std::errc() && ptr == end && user_id > 0 && begin[0] != '+';
}

}  // namespace

JwtVerification VerifyJwt(std::string_view token, std::string_view secret, int64_t now) {
  JwtVerification result;
  if (token.empty() || token.size() > kMaxTokenBytes) return result;
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return result;
  }
  const auto header = Base64UrlDecode(token.substr(0, dot1));
  const auto payload = Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!header || !payload || !signature) return result;

  JsonDocument header_doc;
  if (!ParseJson(*header, header_doc)) return result;
  const auto alg = header_doc.FindMember("alg");
  if (alg == header_doc.MemberEnd() || !alg->value.IsString() ||
      std::string_view(alg->value.GetString()) != "HS256") {
    result.status = JwtStatus::kUnsupportedAlgorithm;
    return result;
  }
  // The signature is checked before anything in the payload is believed.
  const std::string expected = HmacSha256(secret, token.substr(0, dot2));
  if (!ConstantTimeEquals(expected, *signature)) {
    result.status = JwtStatus::kBadSignature;
    return result;
  }
  JsonDocument claims;
  if (!ParseJson(*payload, claims)) return result;
  const auto exp = claims.FindMember("exp");
  if (exp == claims.MemberEnd() || !exp->value.IsNumber()) {
    result.status = JwtStatus::kMissingExpiry;
    return result;
  }
  const double exp_value = exp->value.GetDouble();
  if (exp_value <= static_cast<double>(now)) {
    result.status = JwtStatus::kExpired;
    return result;
  }
  const auto nbf = claims.FindMember("nbf");
  if (nbf != claims.MemberEnd() &&
      (!nbf->value.IsNumber() || nbf->value.GetDouble() > static_cast<double>(now))) {
    result.status = JwtStatus::kNotYetValid;
    return result;
  }
  const auto sub = claims.FindMember("sub");
  if (sub == claims.MemberEnd() || !ParseUserId(sub->value, result.user_id)) {
    result.status = JwtStatus::kBadSubject;
    return result;
  }
  // A signed exp beyond int64 is simply "far in the future"; casting it would be undefined.
  constexpr double kMaxExpiry = 9.2e18;
  result.expires_at = exp_value >= kMaxExpiry ? std::numeric_limits<int64_t>::max()
                                              : static_cast<int64_t>(exp_value);
  result.status = JwtStatus::kOk;
  return result;
}

std::string SignJwt(std::string_view secret, int64_t user_id, int64_t expires_at) {
  const std::string header = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");
  const std::string payload = Base64UrlEncode("{\"sub\":\"" + std::to_string(user_id) +
                                              "\",\"exp\":" + std::to_string(expires_at) + "}");
  std::string signing_input = header + "." + payload;
  return signing_input + "." + Base64UrlEncode(HmacSha256(secret, signing_input));
}

std::string_view JwtStatusText(JwtStatus status) {
  switch (status) {
    case JwtStatus::kOk: return "ok";
    case JwtStatus::kMalformed: return "the bearer token is malformed";
    case JwtStatus::kUnsupportedAlgorithm: return "the bearer token must be signed with HS256";
    case JwtStatus::kBadSignature: return "the bearer token's signature is invalid";
    case JwtStatus::kMissingExpiry: return "the bearer token has no exp claim";
    case JwtStatus::kExpired: return "the bearer token has expired";
    case JwtStatus::kNotYetValid: return "the bearer token is not valid yet";
    case JwtStatus::kBadSubject: return "the bearer token's sub is not a user id";
  }
  return "the bearer token is invalid";
}

}  // namespace ticketing
