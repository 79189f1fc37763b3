// Fuzzes the end-user token verifier (net/jwt_verifier.h) with three kinds of input, chosen by
// the first byte:
//   0: a raw token, verified by three configurations (HS256 only; RS256 + ES256 from PEM; a
//      JWKS with key ids plus an HS256 secret, with issuer and audience);
//   1: a header and a payload (any bytes, usually JSON), signed here by one of: each configured
//      key, an attacker's key of each kind, HMAC keyed with the public key's PEM (algorithm
//      confusion), or no signature at all; then verified by the three configurations;
//   2: a key configuration (a JWKS document or PEM text), which must be accepted or refused
//      with std::invalid_argument, and, if accepted, verifies a few tokens.
//
// The verifier must never accept a token whose signature does not verify, independently, with a
// key the configuration trusts under the algorithm the token's header names, nor one whose
// claims fail the configuration's checks (exp, nbf, iss, aud). Claims it hands back must be
// ASCII JSON meaning the same as the payload. Keys are generated once, at start.
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "net/jwt_verifier.h"
#include "util/base64.h"

namespace {

namespace json = boost::json;
using dorm::net::JwtKeySet;
using dorm::net::JwtVerifier;

constexpr int64_t kNow = 1'800'000'000;
constexpr double kSkew = 60;
// The seed corpus's HS256 tokens are signed with this secret.
constexpr char kSecret[] = "fuzz-hs256-secret-0123456789abcdef0123";
constexpr char kAttackerSecret[] = "attacker-secret-0123456789abcdef012345";
constexpr char kIssuer[] = "https://issuer.example";
constexpr char kAudience[] = "dorm-app";

[[noreturn]] void Fail(const std::string& what, std::string_view token) {
  std::fprintf(stderr, "jwt_verifier_fuzzer: %s\ntoken: %.*s\n", what.c_str(),
               static_cast<int>(token.size()), token.data());
  std::abort();
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

std::string BnParam(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, name, &bn);
  std::string out(pad > 0 ? static_cast<size_t>(pad) : static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return dorm::Base64UrlEncode(out);
}

// What a verifier was configured with, as the independent check needs it.
struct Trust {
  std::string secret;
  std::vector<EVP_PKEY*> rsa;
  std::vector<EVP_PKEY*> ec;
  bool check_issuer = false;
  bool check_audience = false;
};

struct Configured {
  std::unique_ptr<JwtVerifier> verifier;
  Trust trust;
};

struct Keys {
  Pkey rsa, ec, attacker_rsa, attacker_ec;
  std::string rsa_pem, ec_pem;
  std::vector<Configured> configs;
};
Keys* g;

// Strict base64url (no padding, URL alphabet); trailing bits are ignored, as by the verifier.
std::optional<std::string> DecodeB64Url(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '-') {
      v = 62;
    } else if (c == '_') {
      v = 63;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (text.size() % 4 == 1) return std::nullopt;
  return out;
}

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length);
  return std::string(reinterpret_cast<char*>(mac), length);
}

bool VerifyWith(EVP_PKEY* key, std::string_view data, std::string_view der_or_rsa) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der_or_rsa.data()),
                             der_or_rsa.size(), reinterpret_cast<const unsigned char*>(data.data()),
                             data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string RawToDer(std::string_view raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  int length = i2d_ECDSA_SIG(sig, nullptr);
  std::string der(static_cast<size_t>(length), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(sig, &p);
  ECDSA_SIG_free(sig);
  return der;
}

std::string DerToRaw(const unsigned char* der, size_t length) {
  const unsigned char* p = der;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(length));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

std::string Sign(EVP_PKEY* key, std::string_view data, bool ecdsa) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t length = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()),
                 data.size());
  std::string sig(length, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &length,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  sig.resize(length);
  EVP_MD_CTX_free(ctx);
  return ecdsa ? DerToRaw(reinterpret_cast<const unsigned char*>(sig.data()), sig.size()) : sig;
}

std::optional<double> Number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double() && std::isfinite(v.as_double())) return v.as_double();
  return std::nullopt;
}

// JSON equality, where doubles may differ in their last bits: Boost.JSON 1.81 does not always
// read a long decimal as the nearest double, so a number written back may read 1 ulp away.
bool SameJson(const json::value& a, const json::value& b) {
  if (a.is_double() || b.is_double()) {
    auto x = Number(a), y = Number(b);
    return x && y && std::fabs(*x - *y) <= 1e-14 * std::max(std::fabs(*x), std::fabs(*y));
  }
  if (a.is_array() && b.is_array()) {
    if (a.as_array().size() != b.as_array().size()) return false;
    for (size_t i = 0; i < a.as_array().size(); ++i) {
      if (!SameJson(a.as_array()[i], b.as_array()[i])) return false;
    }
    return true;
  }
  if (a.is_object() && b.is_object()) {
    if (a.as_object().size() != b.as_object().size()) return false;
    for (const auto& member : a.as_object()) {
      const json::value* other = b.as_object().if_contains(member.key());
      if (!other || !SameJson(member.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

// Aborts unless the token, accepted by a verifier configured with `trust`, deserved it.
void CheckAccepted(std::string_view token, const Trust& trust, const std::string& claims_json) {
  size_t first = token.find('.');
  size_t second = token.find('.', first + 1);
  if (first == token.npos || second == token.npos || token.find('.', second + 1) != token.npos) {
    Fail("accepted a token without three parts", token);
  }
  std::string_view signing_input = token.substr(0, second);
  auto header_text = DecodeB64Url(token.substr(0, first));
  auto payload_text = DecodeB64Url(token.substr(first + 1, second - first - 1));
  auto signature = DecodeB64Url(token.substr(second + 1));
  if (!header_text || !payload_text || !signature) Fail("accepted bad base64url", token);
  boost::system::error_code ec;
  json::value header = json::parse(*header_text, ec);
  if (ec || !header.is_object()) Fail("accepted a header that is not a JSON object", token);
  json::value payload = json::parse(*payload_text, ec);
  if (ec || !payload.is_object()) Fail("accepted a payload that is not a JSON object", token);
  const json::value* alg = header.as_object().if_contains("alg");
  if (!alg || !alg->is_string()) Fail("accepted a header without alg", token);

  bool signed_by_trusted_key = false;
  if (*alg == "HS256") {
    signed_by_trusted_key =
        !trust.secret.empty() && Hmac(trust.secret, signing_input) == *signature;
  } else if (*alg == "RS256") {
    for (EVP_PKEY* key : trust.rsa) {
      signed_by_trusted_key |= VerifyWith(key, signing_input, *signature);
    }
  } else if (*alg == "ES256") {
    if (signature->size() == 64) {
      std::string der = RawToDer(*signature);
      for (EVP_PKEY* key : trust.ec) signed_by_trusted_key |= VerifyWith(key, signing_input, der);
    }
  } else {
    Fail("accepted algorithm " + json::serialize(*alg), token);
  }
  if (!signed_by_trusted_key) Fail("accepted a token not signed by a trusted key", token);

  const json::object& claims = payload.as_object();
  const json::value* exp = claims.if_contains("exp");
  auto exp_value = exp ? Number(*exp) : std::nullopt;
  if (!exp_value || !(static_cast<double>(kNow) < *exp_value + kSkew)) {
    Fail("accepted a token without a valid, unexpired exp", token);
  }
  if (const json::value* nbf = claims.if_contains("nbf")) {
    auto nbf_value = Number(*nbf);
    if (!nbf_value || static_cast<double>(kNow) + kSkew < *nbf_value) {
      Fail("accepted a token before its nbf", token);
    }
  }
  if (trust.check_issuer) {
    const json::value* iss = claims.if_contains("iss");
    if (!iss || *iss != kIssuer) Fail("accepted a token of another issuer", token);
  }
  if (trust.check_audience) {
    const json::value* aud = claims.if_contains("aud");
    bool match = aud && *aud == kAudience;
    if (aud && aud->is_array()) {
      for (const auto& a : aud->as_array()) match |= a == kAudience;
    }
    if (!match) Fail("accepted a token for another audience", token);
  }
  for (char c : claims_json) {
    if (static_cast<unsigned char>(c) >= 0x80) Fail("claims handed back are not ASCII", token);
  }
  json::value handed_back = json::parse(claims_json, ec);
  if (ec || !SameJson(handed_back, payload))
    Fail("claims handed back differ from the payload", token);
}

void VerifyEverywhere(std::string_view token) {
  for (const Configured& c : g->configs) {
    dorm::net::JwtVerification result = c.verifier->Verify(token, kNow);
    if (result.ok) {
      CheckAccepted(token, c.trust, result.claims_json);
    } else if (result.error.empty()) {
      Fail("refused without a reason", token);
    }
  }
}

std::string RsaJwk(EVP_PKEY* key, const char* kid) {
  return std::string("{\"kty\":\"RSA\",\"kid\":\"") + kid +
         "\",\"use\":\"sig\",\"alg\":\"RS256\"," + "\"n\":\"" + BnParam(key, "n") + "\",\"e\":\"" +
         BnParam(key, "e") + "\"}";
}

std::string EcJwk(EVP_PKEY* key, const char* kid) {
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  EVP_PKEY_get_bn_param(key, "qx", &x);
  EVP_PKEY_get_bn_param(key, "qy", &y);
  std::string xs(32, '\0'), ys(32, '\0');
  BN_bn2binpad(x, reinterpret_cast<unsigned char*>(xs.data()), 32);
  BN_bn2binpad(y, reinterpret_cast<unsigned char*>(ys.data()), 32);
  BN_free(x);
  BN_free(y);
  return std::string("{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"") + kid + "\",\"x\":\"" +
         dorm::Base64UrlEncode(xs) + "\",\"y\":\"" + dorm::Base64UrlEncode(ys) + "\"}";
}

// Mode 1: `header` and `payload` signed by the key `signer` selects.
std::string MakeToken(uint8_t signer, std::string_view header, std::string_view payload) {
  std::string input = dorm::Base64UrlEncode(header) + "." + dorm::Base64UrlEncode(payload);
  std::string sig;
  switch (signer % 9) {
    case 0:
      sig = Hmac(kSecret, input);
      break;
    case 1:
      sig = Sign(g->rsa.get(), input, false);
      break;
    case 2:
      sig = Sign(g->ec.get(), input, true);
      break;
    case 3:
      sig = Hmac(kAttackerSecret, input);
      break;
    case 4:
      sig = Sign(g->attacker_rsa.get(), input, false);
      break;
    case 5:
      sig = Sign(g->attacker_ec.get(), input, true);
      break;
    case 6:
      sig = Hmac(g->rsa_pem, input);  // "HS256" keyed with the RS256 public key
      break;
    case 7:
      sig = Hmac(g->ec_pem, input);
      break;
    case 8:
      break;  // unsigned ("alg": "none" style)
  }
  return input + "." + dorm::Base64UrlEncode(sig);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g = new Keys;
  g->rsa.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  g->ec.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  g->attacker_rsa.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  g->attacker_ec.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  g->rsa_pem = PublicPem(g->rsa.get());
  g->ec_pem = PublicPem(g->ec.get());

  JwtKeySet hs;
  hs.hs256_secret = kSecret;
  Configured c1{std::make_unique<JwtVerifier>(hs), Trust{kSecret, {}, {}, false, false}};
  JwtKeySet pem;
  pem.public_keys_pem = g->rsa_pem + g->ec_pem;
  Configured c2{std::make_unique<JwtVerifier>(pem),
                Trust{"", {g->rsa.get()}, {g->ec.get()}, false, false}};
  JwtKeySet jwks;
  jwks.hs256_secret = kSecret;
  jwks.jwks_json = "{\"keys\":[" + RsaJwk(g->rsa.get(), "r1") + "," + EcJwk(g->ec.get(), "e1") +
                   ",{\"kty\":\"oct\",\"k\":\"AAAA\"}]}";
  jwks.issuer = kIssuer;
  jwks.audience = kAudience;
  Configured c3{std::make_unique<JwtVerifier>(jwks),
                Trust{kSecret, {g->rsa.get()}, {g->ec.get()}, true, true}};
  g->configs.push_back(std::move(c1));
  g->configs.push_back(std::move(c2));
  g->configs.push_back(std::move(c3));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      VerifyEverywhere(rest);
      break;
    case 1: {
      // signer byte, header length byte, header, payload
      if (rest.size() < 2) return 0;
      uint8_t signer = static_cast<uint8_t>(rest[0]);
      size_t header_length = std::min<size_t>(static_cast<uint8_t>(rest[1]), rest.size() - 2);
      std::string_view header = rest.substr(2, header_length);
      std::string_view payload = rest.substr(2 + header_length);
      VerifyEverywhere(MakeToken(signer, header, payload));
      break;
    }
    case 2: {
      JwtKeySet keys;
      if (rest.substr(0, 10).find("-----") != std::string_view::npos) {
        keys.public_keys_pem = std::string(rest);
      } else {
        keys.jwks_json = std::string(rest);
      }
      try {
        JwtVerifier verifier(keys);
        static const std::string kProbe =
            MakeToken(1, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "{\"exp\":1900000000}");
        // The probe is signed by a key generated at start, which a configuration made of the
        // fuzzer's bytes cannot hold: accepting it would be a forgery.
        if (verifier.Verify(kProbe, kNow).ok) {
          Fail("a configuration without the signer's key accepted its token", kProbe);
        }
      } catch (const std::invalid_argument&) {
        // Refused configuration: the expected outcome for most inputs.
      }
      break;
    }
  }
  return 0;
}
