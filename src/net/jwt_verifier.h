// Verification of end-user JSON Web Tokens (RFC 7519) in JWS compact form (RFC 7515), with the
// keys one app trusts: an HS256 secret, RS256/ES256 public keys in PEM, and/or a JWKS document.
//
// Accepted algorithms are exactly HS256, RS256 and ES256 (P-256); "none" and every other
// algorithm are refused. The key type is chosen by the token's algorithm and never the other way
// round: an HS256 token is checked only against the HMAC secret, never against public key bytes.
// A token must carry `exp`; `exp` and `nbf` are checked with kClockSkew of leeway; `iss` and `aud`
// are checked when the configuration names them. Signatures are checked with OpenSSL.
//
// Thread-safe: a JwtVerifier is immutable after construction and Verify() may run on many threads
// at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dorm::net {

// What an app trusts for its end-user tokens. At least one key source must be given.
struct JwtKeySet {
  std::string hs256_secret;     // raw bytes, at least 32; empty: HS256 is not accepted
  std::string public_keys_pem;  // zero or more PEM blocks (PUBLIC KEY, RSA PUBLIC KEY, CERTIFICATE)
  std::string jwks_json;        // empty, or a JWKS document {"keys": [...]}
  std::string issuer;           // empty: `iss` is not checked
  std::string audience;         // empty: `aud` is not checked
};

struct JwtVerification {
  bool ok = false;
  // Why the token was refused: one sentence, safe to show to the client that sent it.
  std::string error;
  // On success: the token's claims as compact JSON in ASCII only (other characters as \u
  // escapes), fit for an HTTP header value.
  std::string claims_json;
};

class JwtVerifier {
 public:
  // Leeway for `exp` and `nbf`, for clocks that disagree a little.
  static constexpr std::chrono::seconds kClockSkew{60};
  // Smallest HS256 secret accepted (RFC 7518 section 3.2: at least the hash's size).
  static constexpr size_t kMinHs256SecretBytes = 32;
  // Smallest RSA modulus accepted, in bits.
  static constexpr int kMinRsaBits = 2048;

  // Parses and checks every key. Throws std::invalid_argument with a message for the operator
  // when a key cannot be used (unreadable PEM, private key given, RSA key under kMinRsaBits, EC
  // curve other than P-256, JWKS without a usable signing key, short HS256 secret) or when no key
  // source is given at all.
  explicit JwtVerifier(const JwtKeySet& keys);
  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

  // Verifies `token` at `now_seconds` (seconds since the Unix epoch). Never throws.
  JwtVerification Verify(std::string_view token, int64_t now_seconds) const;

  bool accepts_hs256() const { return !hs256_secret_.empty(); }
  // Public keys read from PEM and from the JWKS document.
  size_t pem_key_count() const;
  size_t jwks_key_count() const;

 private:
  struct PublicKey;

  std::string hs256_secret_;
  std::vector<std::unique_ptr<PublicKey>> public_keys_;
  std::string issuer_;
  std::string audience_;
};

}  // namespace dorm::net
