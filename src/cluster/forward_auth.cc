#include "cluster/forward_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <vector>

namespace dorm::cluster {
namespace {

std::string Hex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xf]);
  }
  return out;
}

std::vector<std::string_view> SplitSpaces(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

template <class T>
bool ParseInt(std::string_view text, T& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string FormatForwarded(const ForwardFacts& facts) {
  return std::to_string(facts.hops) + " " + std::to_string(facts.unix_seconds) + " " + facts.node +
         " " + (facts.client.empty() ? std::string("-") : facts.client);
}

std::string SignForward(std::string_view secret, std::string_view method, std::string_view target,
                        std::string_view forwarded) {
  // Lengths first: no two different triples sign the same bytes.
  std::string message = std::to_string(method.size()) + ":" + std::string(method) +
                        std::to_string(target.size()) + ":" + std::string(target) +
                        std::string(forwarded);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
            &length)) {
    return std::string();
  }
  return Hex(digest, length);
}

std::optional<ForwardFacts> VerifyForward(std::string_view secret, std::string_view method,
                                          std::string_view target, std::string_view forwarded,
                                          std::string_view signature, int64_t now_unix_seconds) {
  if (secret.empty()) return std::nullopt;
  const std::string expected = SignForward(secret, method, target, forwarded);
  if (expected.empty() || signature.size() != expected.size() ||
      CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  std::vector<std::string_view> parts = SplitSpaces(forwarded);
  if (parts.size() != 4) return std::nullopt;
  ForwardFacts facts;
  if (!ParseInt(parts[0], facts.hops) || facts.hops < 1) return std::nullopt;
  if (!ParseInt(parts[1], facts.unix_seconds)) return std::nullopt;
  const int64_t skew = facts.unix_seconds - now_unix_seconds;
  if (skew > kForwardMaxSkew.count() || -skew > kForwardMaxSkew.count()) return std::nullopt;
  facts.node = std::string(parts[2]);
  facts.client = parts[3] == "-" ? std::string() : std::string(parts[3]);
  return facts;
}

}  // namespace dorm::cluster
