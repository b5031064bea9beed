// VerifyJwt: HS256 only, signature before claims, exp/nbf, sub as a positive decimal id.
#include "core/jwt.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/crypto.hpp"

namespace ticketing {
namespace {

constexpr char kSecret[] = "unit-test-secret-0123456789";
constexpr int64_t kNow = 1800000000;
constexpr char kHs256[] = R"({"alg":"HS256","typ":"JWT"})";

std::string Sign(std::string_view header, std::string_view payload,
                 std::string_view secret = kSecret) {
  const std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  return input + "." + Base64UrlEncode(HmacSha256(secret, input));
}

std::string Claims(std::string_view sub, int64_t exp) {
  return std::string(R"({"sub":")") + std::string(sub) + R"(","exp":)" + std::to_string(exp) +
         "}";
}

JwtStatus StatusOf(std::string_view token) { return VerifyJwt(token, kSecret, kNow).status; }

TEST(JwtTest, SignedTokenVerifies) {
  const std::string token = SignJwt(kSecret, 42, kNow + 60);
  const JwtVerification v = VerifyJwt(token, kSecret, kNow);
  EXPECT_EQ(v.status, JwtStatus::kOk);
  EXPECT_EQ(v.user_id, 42);
  EXPECT_EQ(v.expires_at, kNow + 60);
}

TEST(JwtTest, HandMadeTokenVerifies) {
  const JwtVerification v = VerifyJwt(Sign(kHs256, Claims("7", kNow + 1)), kSecret, kNow);
  EXPECT_EQ(v.status, JwtStatus::kOk);
  EXPECT_EQ(v.user_id, 7);
  // Extra claims and header fields are ignored; a past nbf is fine.
  EXPECT_EQ(StatusOf(Sign(R"({"typ":"JWT","alg":"HS256","kid":"k1"})",
                          R"({"sub":"9","exp":1800000100,"nbf":1700000000,"iat":1,"x":[1]})")),
            JwtStatus::kOk);
}

TEST(JwtTest, OnlyHs256IsAccepted) {
  const std::string claims = Claims("7", kNow + 60);
  const std::string payload = Base64UrlEncode(claims);
  // alg none, unsigned and with any signature.
  EXPECT_EQ(StatusOf(Base64UrlEncode(R"({"alg":"none"})") + "." + payload + "."),
            JwtStatus::kUnsupportedAlgorithm);
  EXPECT_EQ(StatusOf(Sign(R"({"alg":"none"})", claims)), JwtStatus::kUnsupportedAlgorithm);
  EXPECT_EQ(StatusOf(Sign(R"({"alg":"None"})", claims)), JwtStatus::kUnsupportedAlgorithm);
  EXPECT_EQ(StatusOf(Sign(R"({"alg":"HS512"})", claims)), JwtStatus::kUnsupportedAlgorithm);
  EXPECT_EQ(StatusOf(Sign(R"({"alg":"hs256"})", claims)), JwtStatus::kUnsupportedAlgorithm);
  EXPECT_EQ(StatusOf(Sign(R"({"typ":"JWT"})", claims)), JwtStatus::kUnsupportedAlgorithm);
  EXPECT_EQ(StatusOf(Sign(R"({"alg":null})", claims)), JwtStatus::kUnsupportedAlgorithm);
  EXPECT_EQ(StatusOf(Sign(R"({"alg":["HS256"]})", claims)), JwtStatus::kUnsupportedAlgorithm);
  // RS256 with the HMAC secret as "public key": the classic confusion attack.
  EXPECT_EQ(StatusOf(Sign(R"({"alg":"RS256","typ":"JWT"})", claims)),
            JwtStatus::kUnsupportedAlgorithm);
}

TEST(JwtTest, BadSignatureIsRejected) {
  const std::string claims = Claims("7", kNow + 60);
  EXPECT_EQ(StatusOf(Sign(kHs256, claims, "another-secret-0123456789")), JwtStatus::kBadSignature);
  std::string token = Sign(kHs256, claims);
  // Unsigned, truncated and bit-flipped signatures.
  EXPECT_EQ(StatusOf(token.substr(0, token.rfind('.') + 1)), JwtStatus::kBadSignature);
  EXPECT_EQ(StatusOf(token.substr(0, token.size() - 3)), JwtStatus::kBadSignature);
  token[token.size() - 2] = token[token.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(StatusOf(token), JwtStatus::kBadSignature);
}

TEST(JwtTest, TamperedPayloadIsRejected) {
  const std::string token = Sign(kHs256, Claims("7", kNow + 60));
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.rfind('.');
  const std::string forged = token.substr(0, dot1 + 1) +
                             Base64UrlEncode(Claims("8", kNow + 60)) + token.substr(dot2);
  EXPECT_EQ(StatusOf(forged), JwtStatus::kBadSignature);
  const std::string extended = token.substr(0, dot1 + 1) +
                               Base64UrlEncode(Claims("7", kNow + 999999)) + token.substr(dot2);
  EXPECT_EQ(StatusOf(extended), JwtStatus::kBadSignature);
}

TEST(JwtTest, ExpiryIsRequiredAndEnforced) {
  EXPECT_EQ(StatusOf(Sign(kHs256, R"({"sub":"7"})")), JwtStatus::kMissingExpiry);
  EXPECT_EQ(StatusOf(Sign(kHs256, R"({"sub":"7","exp":"1900000000"})")),
            JwtStatus::kMissingExpiry);
  EXPECT_EQ(StatusOf(Sign(kHs256, R"({"sub":"7","exp":null})")), JwtStatus::kMissingExpiry);
  EXPECT_EQ(StatusOf(Sign(kHs256, Claims("7", kNow - 1))), JwtStatus::kExpired);
  EXPECT_EQ(StatusOf(Sign(kHs256, Claims("7", kNow))), JwtStatus::kExpired);
  EXPECT_EQ(StatusOf(Sign(kHs256, Claims("7", 0))), JwtStatus::kExpired);
  EXPECT_EQ(StatusOf(Sign(kHs256, Claims("7", kNow + 1))), JwtStatus::kOk);
}

TEST(JwtTest, NotBeforeInTheFutureIsRejected) {
  EXPECT_EQ(StatusOf(Sign(kHs256, R"({"sub":"7","exp":1800000100,"nbf":1800000050})")),
            JwtStatus::kNotYetValid);
  EXPECT_EQ(StatusOf(Sign(kHs256, R"({"sub":"7","exp":1800000100,"nbf":"soon"})")),
            JwtStatus::kNotYetValid);
  EXPECT_EQ(StatusOf(Sign(kHs256, R"({"sub":"7","exp":1800000100,"nbf":1800000000})")),
            JwtStatus::kOk);
}

TEST(JwtTest, SubjectMustBeAPositiveDecimalString) {
  for (const char* sub : {"abc", "0", "-5", "+5", "5a", " 5", "5 ", "", "1.0", "1e3", "0x10",
                          "9223372036854775808", "99999999999999999999"}) {
    EXPECT_EQ(StatusOf(Sign(kHs256, Claims(sub, kNow + 60))), JwtStatus::kBadSubject) << sub;
  }
  EXPECT_EQ(StatusOf(Sign(kHs256, R"({"sub":7,"exp":1800000100})")), JwtStatus::kBadSubject);
  EXPECT_EQ(StatusOf(Sign(kHs256, R"({"exp":1800000100})")), JwtStatus::kBadSubject);
  EXPECT_EQ(StatusOf(Sign(kHs256, R"({"sub":null,"exp":1800000100})")), JwtStatus::kBadSubject);
  const JwtVerification max =
      VerifyJwt(Sign(kHs256, Claims("9223372036854775807", kNow + 60)), kSecret, kNow);
  EXPECT_EQ(max.status, JwtStatus::kOk);
  EXPECT_EQ(max.user_id, INT64_MAX);
}

TEST(JwtTest, StructureViolationsAreMalformed) {
  const std::string good = Sign(kHs256, Claims("7", kNow + 60));
  const size_t dot1 = good.find('.');
  const size_t dot2 = good.rfind('.');
  for (const std::string& token :
       {std::string(""), std::string("."), std::string(".."), std::string("..."),
        std::string("abc"), good.substr(0, dot2), good + ".", good + "." + good.substr(dot2 + 1),
        std::string("a.b.c"), std::string(".").append(good.substr(dot1 + 1)), std::string("Bearer ").append(good), good + " ", good + "=",
        Base64UrlEncode("not json") + good.substr(dot1),
        Base64UrlEncode("[\"alg\",\"HS256\"]") + good.substr(dot1)}) {
    EXPECT_EQ(StatusOf(token), JwtStatus::kMalformed) << token;
  }
}

TEST(JwtTest, EmptyPayloadIsNotAccepted) {
  const std::string good = Sign(kHs256, Claims("7", kNow + 60));
  const std::string no_payload =
      good.substr(0, good.find('.')) + ".." + good.substr(good.rfind('.') + 1);
  EXPECT_NE(StatusOf(no_payload), JwtStatus::kOk);
  EXPECT_EQ(StatusOf(Sign(kHs256, "")), JwtStatus::kMalformed);
}

TEST(JwtTest, SignedNonJsonPayloadIsMalformed) {
  EXPECT_EQ(StatusOf(Sign(kHs256, "not json")), JwtStatus::kMalformed);
  EXPECT_EQ(StatusOf(Sign(kHs256, R"(["sub","7"])")), JwtStatus::kMalformed);
}

TEST(JwtTest, OversizeTokenIsRejectedBeforeAnyWork) {
  const std::string padding(5000, 'x');
  const std::string big = Sign(kHs256, R"({"sub":"7","exp":1800000100,"pad":")" + padding + "\"}");
  ASSERT_GT(big.size(), 4096u);
  EXPECT_EQ(StatusOf(big), JwtStatus::kMalformed);
  EXPECT_EQ(StatusOf(std::string(1 << 20, 'a')), JwtStatus::kMalformed);
  // Just under the limit still works.
  const std::string fits = Sign(kHs256, R"({"sub":"7","exp":1800000100,"pad":")" +
                                            std::string(2900, 'x') + "\"}");
  ASSERT_LE(fits.size(), 4096u);
  EXPECT_EQ(StatusOf(fits), JwtStatus::kOk);
}

TEST(JwtTest, EmptySecretStillRequiresTheRightSignature) {
  const std::string token = Sign(kHs256, Claims("7", kNow + 60), "");
  EXPECT_EQ(VerifyJwt(token, "", kNow).status, JwtStatus::kOk);
  EXPECT_EQ(VerifyJwt(token, kSecret, kNow).status, JwtStatus::kBadSignature);
}

TEST(JwtTest, HugeExpiryDoesNotOverflow) {
  const JwtVerification v =
      VerifyJwt(Sign(kHs256, R"({"sub":"7","exp":1e19})"), kSecret, kNow);
  if (v.status == JwtStatus::kOk) {
    EXPECT_GT(v.expires_at, kNow);
  }
}

TEST(JwtTest, StatusTextsAreClientSafe) {
  for (const JwtStatus s :
       {JwtStatus::kMalformed, JwtStatus::kUnsupportedAlgorithm, JwtStatus::kBadSignature,
        JwtStatus::kMissingExpiry, JwtStatus::kExpired, JwtStatus::kNotYetValid,
        JwtStatus::kBadSubject}) {
    const std::string_view text = JwtStatusText(s);
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(text.find(kSecret), std::string_view::npos);
  }
}

}  // namespace
}  // namespace ticketing
