// OpenSSL-backed primitives; no secret ever leaves this file in a log line.
#include "core/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <cstdio>
#include <stdexcept>

namespace ticketing {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

template <size_t N>
std::string ToHex(const std::array<unsigned char, N>& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(N * 2);
  for (const unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(Bytes(data), data.size(), digest.data());
  return ToHex(digest);
}

std::string Sha1Hex(std::string_view data) {
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(Bytes(data), data.size(), digest.data());
  return ToHex(digest);
}

namespace {

// HMAC() looks the digest up and builds a context on every call, which costs more than hashing
// a token. Each thread keeps keyed contexts for the few keys a process uses (the JWT secret,
// the queue-token key) and only re-initialises one per message.
class HmacContexts {
 public:
  HmacContexts() : mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)) {}
  ~HmacContexts() {
    for (auto& slot : slots_) EVP_MAC_CTX_free(slot.ctx);
    EVP_MAC_free(mac_);
  }
  HmacContexts(const HmacContexts&) = delete;
  HmacContexts& operator=(const HmacContexts&) = delete;

  // A context keyed with `key`, ready for EVP_MAC_update; nullptr if OpenSSL refuses.
  EVP_MAC_CTX* For(std::string_view key) {
    if (mac_ == nullptr) return nullptr;
    for (auto& slot : slots_) {
      if (slot.ctx != nullptr && slot.key == key) {
        return EVP_MAC_init(slot.ctx, nullptr, 0, nullptr) == 1 ? slot.ctx : nullptr;
      }
    }
    Slot& slot = slots_[next_++ % slots_.size()];
    EVP_MAC_CTX_free(slot.ctx);
    slot.key.assign(key);
    slot.ctx = EVP_MAC_CTX_new(mac_);
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (slot.ctx == nullptr ||
        EVP_MAC_init(slot.ctx, Bytes(key), key.size(), params) != 1) {
      EVP_MAC_CTX_free(slot.ctx);
      slot.ctx = nullptr;
      return nullptr;
    }
    return slot.ctx;
  }

 private:
  struct Slot {
    std::string key;
    EVP_MAC_CTX* ctx = nullptr;
  };
  EVP_MAC* mac_;
  std::array<Slot, 4> slots_{};
  size_t next_ = 0;
};

}  // namespace

std::string HmacSha256(std::string_view key, std::string_view data) {
  thread_local HmacContexts contexts;
  EVP_MAC_CTX* ctx = contexts.For(key);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  size_t len = 0;
  if (ctx == nullptr || EVP_MAC_update(ctx, Bytes(data), data.size()) != 1 ||
      EVP_MAC_final(ctx, mac.data(), &len, mac.size()) != 1) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(mac.data()), len);
}

std::string Base64UrlEncode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t n = (uint32_t{Bytes(data)[i]} << 16) | (uint32_t{Bytes(data)[i + 1]} << 8) |
                       Bytes(data)[i + 2];
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t{Bytes(data)[i]} << 16;
    if (rest == 2) n |= uint32_t{Bytes(data)[i + 1]} << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    if (rest == 2) out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = DecodeChar(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, so every byte string has exactly one encoding.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string RandomUuid() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

}  // namespace ticketing
