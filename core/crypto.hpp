// Hashing, HMAC and base64url on OpenSSL, shared by JWTs, queue tokens and idempotency hashes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ticketing {

std::string Sha256Hex(std::string_view data);
// For Redis script ids (EVALSHA), not for anything that needs collision resistance.
std::string Sha1Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string Base64UrlEncode(std::string_view data);
// nullopt on characters outside the base64url alphabet or an impossible length.
std::optional<std::string> Base64UrlDecode(std::string_view text);
// Compares in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);
// A random version-4 UUID string.
std::string RandomUuid();

}  // namespace ticketing
