#include "net/jwt_verifier.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "util/base64.h"
#include "util/crypto.h"

namespace dorm::net {

namespace json = boost::json;

// The types of JwtVerifier::PublicKey's fields. Not in the anonymous namespace: a member of a
// class declared in a header must not have a type only this file can name.
namespace jwt_keys {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

enum class KeyType { kRsa, kEcP256 };

}  // namespace jwt_keys

using jwt_keys::KeyType;
using jwt_keys::PkeyPtr;

namespace {

[[noreturn]] void Invalid(const std::string& message) {
  ERR_clear_error();
  throw std::invalid_argument(message);
}

// The type of a usable public key; throws std::invalid_argument (naming `where`) otherwise.
KeyType CheckPublicKey(EVP_PKEY* pkey, const std::string& where) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    int bits = EVP_PKEY_get_bits(pkey);
    if (bits < JwtVerifier::kMinRsaBits) {
      Invalid(where + ": RSA key of " + std::to_string(bits) + " bits is too short (at least " +
              std::to_string(JwtVerifier::kMinRsaBits) + ").");
    }
    return KeyType::kRsa;
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {};
    size_t length = 0;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &length) != 1 ||
        (std::string(group) != "prime256v1" && std::string(group) != "P-256")) {
      Invalid(where + ": EC key on curve '" + std::string(group) +
              "' is not supported (ES256 needs P-256).");
    }
    return KeyType::kEcP256;
  }
  Invalid(where +
          ": unsupported key type (use an RSA key for RS256 or an EC P-256 key for ES256).");
}

PkeyPtr KeyFromPemBlock(const std::string& name, const unsigned char* data, long length,
                        const std::string& where) {
  const unsigned char* p = data;
  if (name == "PUBLIC KEY") return PkeyPtr(d2i_PUBKEY(nullptr, &p, length));
  if (name == "RSA PUBLIC KEY") return PkeyPtr(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, length));
  if (name == "CERTIFICATE") {
    X509* cert = d2i_X509(nullptr, &p, length);
    if (!cert) return nullptr;
    PkeyPtr key(X509_get_pubkey(cert));
    X509_free(cert);
    return key;
  }
  if (name.find("PRIVATE KEY") != std::string::npos) {
    Invalid(where + " is a private key: configure the public key instead (openssl pkey -pubout).");
  }
  Invalid(where + ": unsupported PEM block '" + name +
          "' (expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE).");
}

// Parses an unpadded base64url JWK member into bytes.
std::string JwkBytes(const json::object& jwk, const char* member, const std::string& where) {
  auto it = jwk.find(member);
  if (it == jwk.end() || !it->value().is_string()) {
    Invalid(where + ": missing \"" + member + "\".");
  }
  auto bytes = Base64UrlDecode(std::string_view(it->value().as_string()));
  if (!bytes || bytes->empty()) Invalid(where + ": \"" + member + "\" is not base64url.");
  return *bytes;
}

// Builds a public key from OpenSSL parameters of key type `openssl_type` ("RSA" or "EC").
PkeyPtr KeyFromParams(const char* openssl_type, OSSL_PARAM_BLD* builder, const std::string& where) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, openssl_type, nullptr);
  EVP_PKEY* raw = nullptr;
  bool built = params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
               EVP_PKEY_fromdata(ctx, &raw, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  PkeyPtr key(raw);
  if (!built || !key) Invalid(where + ": the key parameters do not form a valid key.");
  // fromdata does not check that an EC point lies on its curve.
  EVP_PKEY_CTX* check = EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr);
  bool valid = check && EVP_PKEY_public_check(check) == 1;
  EVP_PKEY_CTX_free(check);
  if (!valid) Invalid(where + ": the public key is not valid.");
  return key;
}

PkeyPtr RsaKeyFromJwk(const json::object& jwk, const std::string& where) {
  std::string n = JwkBytes(jwk, "n", where);
  std::string e = JwkBytes(jwk, "e", where);
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                           static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                           static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  bool pushed = bn_n && bn_e && builder &&
                OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
                OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1;
  PkeyPtr key;
  if (pushed) {
    try {
      key = KeyFromParams("RSA", builder, where);
    } catch (...) {
      OSSL_PARAM_BLD_free(builder);
      BN_free(bn_n);
      BN_free(bn_e);
      throw;
    }
  }
  OSSL_PARAM_BLD_free(builder);
  BN_free(bn_n);
  BN_free(bn_e);
  if (!key) Invalid(where + ": cannot build the RSA key.");
  return key;
}

PkeyPtr EcKeyFromJwk(const json::object& jwk, const std::string& where) {
  std::string x = JwkBytes(jwk, "x", where);
  std::string y = JwkBytes(jwk, "y", where);
  if (x.size() != 32 || y.size() != 32) {
    Invalid(where + ": P-256 coordinates must be 32 bytes each.");
  }
  std::string point = "\x04" + x + y;  // SEC 1 uncompressed point
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  static char kGroup[] = "prime256v1";
  bool pushed =
      builder &&
      OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, kGroup, 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) == 1;
  PkeyPtr key;
  if (pushed) {
    try {
      key = KeyFromParams("EC", builder, where);
    } catch (...) {
      OSSL_PARAM_BLD_free(builder);
      throw;
    }
  }
  OSSL_PARAM_BLD_free(builder);
  if (!key) Invalid(where + ": cannot build the EC key.");
  return key;
}

std::optional<std::string> StringMember(const json::object& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().as_string());
}

std::optional<json::object> DecodeJsonObject(std::string_view part) {
  auto bytes = Base64UrlDecode(part);
  if (!bytes) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

// A NumericDate claim (RFC 7519 section 2) as seconds; nullopt if it is not a number.
std::optional<double> NumericDate(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double() && std::isfinite(v.as_double())) return v.as_double();
  return std::nullopt;
}

// Whether every number in `v` is finite. Boost.JSON reads a number beyond the range of a double
// (1e400) as infinity and would write it back as `Infinity`, which is not JSON. Recursion is
// bounded by the parser's depth limit.
bool AllNumbersFinite(const json::value& v) {
  if (v.is_double()) return std::isfinite(v.as_double());
  if (v.is_array()) {
    for (const json::value& item : v.as_array()) {
      if (!AllNumbersFinite(item)) return false;
    }
  }
  if (v.is_object()) {
    for (const auto& member : v.as_object()) {
      if (!AllNumbersFinite(member.value())) return false;
    }
  }
  return true;
}

// `utf8_json` with every non-ASCII character written as a \u escape (surrogate pairs above
// U+FFFF). Non-ASCII bytes occur only inside strings, where the escapes mean the same; the input
// is valid UTF-8 because Boost.JSON validates what it parses.
std::string AsciiJson(const std::string& utf8_json) {
  std::string out;
  out.reserve(utf8_json.size());
  auto escape = [&out](unsigned unit) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\u%04x", unit);
    out += buf;
  };
  for (size_t i = 0; i < utf8_json.size();) {
    unsigned char c = static_cast<unsigned char>(utf8_json[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    unsigned code = c & (0x3F >> extra);
    for (int k = 1; k <= extra && i + k < utf8_json.size(); ++k) {
      code = (code << 6) | (static_cast<unsigned char>(utf8_json[i + k]) & 0x3F);
    }
    i += 1 + extra;
    if (code >= 0x10000) {
      code -= 0x10000;
      escape(0xD800 + (code >> 10));
      escape(0xDC00 + (code & 0x3FF));
    } else {
      escape(code);
    }
  }
  return out;
}

JwtVerification Refuse(std::string error) {
  JwtVerification v;
  v.error = std::move(error);
  return v;
}

// JWS ES256 signatures are R || S (32 bytes each); OpenSSL verifies DER. Empty on failure.
std::string EcdsaRawToDer(std::string_view raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  std::string der;
  if (sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1) {
    r = s = nullptr;  // owned by sig now
    int length = i2d_ECDSA_SIG(sig, nullptr);
    if (length > 0) {
      der.resize(static_cast<size_t>(length));
      unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
      i2d_ECDSA_SIG(sig, &p);
    }
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return der;
}

bool VerifySha256Signature(EVP_PKEY* key, std::string_view signed_part, std::string_view sig) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(signed_part.data()),
                             signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  // A failed verification leaves errors on this thread's OpenSSL queue; they are expected here.
  ERR_clear_error();
  return ok;
}

}  // namespace

struct JwtVerifier::PublicKey {
  KeyType type;
  bool from_jwks = false;
  std::string kid;  // from the JWKS; empty for PEM keys
  PkeyPtr key;
};

JwtVerifier::JwtVerifier(const JwtKeySet& keys)
    : hs256_secret_(keys.hs256_secret), issuer_(keys.issuer), audience_(keys.audience) {
  if (!hs256_secret_.empty() && hs256_secret_.size() < kMinHs256SecretBytes) {
    Invalid("The HS256 secret is " + std::to_string(hs256_secret_.size()) +
            " bytes long: it must have at least " + std::to_string(kMinHs256SecretBytes) +
            " bytes.");
  }
  if (!keys.public_keys_pem.empty()) {
    BIO* bio =
        BIO_new_mem_buf(keys.public_keys_pem.data(), static_cast<int>(keys.public_keys_pem.size()));
    if (!bio) Invalid("Cannot read the PEM keys.");
    for (int index = 1;; ++index) {
      char* name = nullptr;
      char* header = nullptr;
      unsigned char* data = nullptr;
      long length = 0;
      if (PEM_read_bio(bio, &name, &header, &data, &length) != 1) {
        unsigned long error = ERR_peek_last_error();
        bool at_end = ERR_GET_LIB(error) == ERR_LIB_PEM &&
                      ERR_GET_REASON(error) == PEM_R_NO_START_LINE && index > 1;
        BIO_free(bio);
        if (at_end) {
          ERR_clear_error();
          break;
        }
        Invalid(index == 1 ? "No PEM public key found (expected -----BEGIN PUBLIC KEY-----)."
                           : "PEM block " + std::to_string(index) + " cannot be read.");
      }
      std::string where = "PEM block " + std::to_string(index);
      std::string block_name = name;
      OPENSSL_free(name);
      OPENSSL_free(header);
      PkeyPtr key;
      try {
        key = KeyFromPemBlock(block_name, data, length, where);
      } catch (...) {
        OPENSSL_free(data);
        BIO_free(bio);
        throw;
      }
      OPENSSL_free(data);
      if (!key) {
        BIO_free(bio);
        Invalid(where + " (" + block_name + ") cannot be decoded.");
      }
      auto entry = std::make_unique<PublicKey>();
      try {
        entry->type = CheckPublicKey(key.get(), where);
      } catch (...) {
        BIO_free(bio);
        throw;
      }
      entry->key = std::move(key);
      public_keys_.push_back(std::move(entry));
    }
  }
  if (!keys.jwks_json.empty()) {
    boost::system::error_code ec;
    json::value doc = json::parse(keys.jwks_json, ec);
    if (ec || !doc.is_object() || !doc.as_object().contains("keys") ||
        !doc.as_object().at("keys").is_array()) {
      Invalid("The JWKS must be a JSON object with a \"keys\" array.");
    }
    size_t usable = 0;
    size_t index = 0;
    for (const json::value& item : doc.as_object().at("keys").as_array()) {
      ++index;
      if (!item.is_object()) Invalid("JWKS key " + std::to_string(index) + " is not an object.");
      const json::object& jwk = item.as_object();
      std::string kid = StringMember(jwk, "kid").value_or("");
      std::string where = "JWKS key " + std::to_string(index) +
                          (kid.empty() ? std::string() : " (kid \"" + kid + "\")");
      // Keys for encryption, other algorithms or other key types serve someone else: skip them.
      std::string use = StringMember(jwk, "use").value_or("sig");
      std::string alg = StringMember(jwk, "alg").value_or("");
      std::string kty = StringMember(jwk, "kty").value_or("");
      if (use != "sig") continue;
      auto entry = std::make_unique<PublicKey>();
      if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
        entry->key = RsaKeyFromJwk(jwk, where);
      } else if (kty == "EC" && StringMember(jwk, "crv").value_or("") == "P-256" &&
                 (alg.empty() || alg == "ES256")) {
        entry->key = EcKeyFromJwk(jwk, where);
      } else {
        continue;
      }
      entry->type = CheckPublicKey(entry->key.get(), where);
      entry->from_jwks = true;
      entry->kid = kid;
      public_keys_.push_back(std::move(entry));
      ++usable;
    }
    if (usable == 0) {
      Invalid("The JWKS has no usable signing key (RSA for RS256, or EC P-256 for ES256).");
    }
  }
  if (hs256_secret_.empty() && public_keys_.empty()) {
    Invalid("No key given: configure an HS256 secret, PEM public keys or a JWKS.");
  }
}

JwtVerifier::~JwtVerifier() = default;

size_t JwtVerifier::pem_key_count() const {
  size_t n = 0;
  for (const auto& k : public_keys_) n += k->from_jwks ? 0 : 1;
  return n;
}

size_t JwtVerifier::jwks_key_count() const { return public_keys_.size() - pem_key_count(); }

JwtVerification JwtVerifier::Verify(std::string_view token, int64_t now_seconds) const {
  size_t first_dot = token.find('.');
  size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != token.npos) {
    return Refuse("Token is malformed: expected three base64url parts separated by dots.");
  }
  std::string_view signed_part = token.substr(0, second_dot);
  auto header = DecodeJsonObject(token.substr(0, first_dot));
  if (!header) return Refuse("Token is malformed: the header is not base64url-encoded JSON.");
  auto alg = StringMember(*header, "alg");
  if (!alg) return Refuse("Token is malformed: the header has no \"alg\".");
  if (*alg != "HS256" && *alg != "RS256" && *alg != "ES256") {
    return Refuse("Token algorithm '" + *alg + "' is not accepted (HS256, RS256 or ES256).");
  }
  if (header->contains("crit")) {
    return Refuse("Token header lists critical extensions (\"crit\"), which are not supported.");
  }
  std::optional<std::string> kid;
  if (auto it = header->find("kid"); it != header->end()) {
    if (!it->value().is_string()) return Refuse("Token is malformed: \"kid\" is not a string.");
    kid = std::string(it->value().as_string());
  }
  auto payload = DecodeJsonObject(token.substr(first_dot + 1, second_dot - first_dot - 1));
  if (!payload) return Refuse("Token is malformed: the payload is not base64url-encoded JSON.");
  if (!AllNumbersFinite(*payload)) {
    return Refuse("Token is malformed: the payload has a number out of range.");
  }
  auto signature = Base64UrlDecode(token.substr(second_dot + 1));
  if (!signature) return Refuse("Token is malformed: the signature is not base64url.");

  bool signature_ok = false;
  if (*alg == "HS256") {
    if (hs256_secret_.empty()) return Refuse("HS256 tokens are not accepted by this app.");
    Sha256Digest mac = HmacSha256(hs256_secret_, signed_part);
    signature_ok = ConstantTimeEquals(
        *signature, std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
  } else {
    KeyType wanted = *alg == "RS256" ? KeyType::kRsa : KeyType::kEcP256;
    std::string der;
    std::string_view to_check = *signature;
    if (wanted == KeyType::kEcP256) {
      if (signature->size() != 64) return Refuse("Token signature is invalid.");
      der = EcdsaRawToDer(*signature);
      to_check = der;
    }
    bool any_of_type = false;
    bool any_candidate = false;
    for (const auto& key : public_keys_) {
      if (key->type != wanted) continue;
      any_of_type = true;
      // A token naming a key is checked against that JWKS key (and keys without an id).
      if (kid && key->from_jwks && key->kid != *kid) continue;
      any_candidate = true;
      if (!to_check.empty() && VerifySha256Signature(key->key.get(), signed_part, to_check)) {
        signature_ok = true;
        break;
      }
    }
    if (!any_of_type) return Refuse(*alg + " tokens are not accepted by this app.");
    if (!any_candidate) return Refuse("Token key id '" + *kid + "' is not a configured key.");
  }
  if (!signature_ok) return Refuse("Token signature is invalid.");

  const double now = static_cast<double>(now_seconds);
  const double skew = static_cast<double>(kClockSkew.count());
  auto exp_it = payload->find("exp");
  if (exp_it == payload->end()) return Refuse("Token has no expiry (\"exp\").");
  auto exp = NumericDate(exp_it->value());
  if (!exp) return Refuse("Token claim \"exp\" is not a number.");
  if (now >= *exp + skew) return Refuse("Token has expired.");
  if (auto it = payload->find("nbf"); it != payload->end()) {
    auto nbf = NumericDate(it->value());
    if (!nbf) return Refuse("Token claim \"nbf\" is not a number.");
    if (now + skew < *nbf) return Refuse("Token is not valid yet (\"nbf\").");
  }
  if (!issuer_.empty() && StringMember(*payload, "iss") != issuer_) {
    return Refuse("Token issuer (\"iss\") is not the one this app accepts.");
  }
  if (!audience_.empty()) {
    bool match = false;
    if (auto it = payload->find("aud"); it != payload->end()) {
      if (it->value().is_string()) match = it->value().as_string() == audience_;
      if (it->value().is_array()) {
        for (const json::value& a : it->value().as_array()) {
          match |= a.is_string() && a.as_string() == audience_;
        }
      }
    }
    if (!match) return Refuse("Token audience (\"aud\") does not include this app's audience.");
  }
  JwtVerification ok;
  ok.ok = true;
  ok.claims_json = AsciiJson(json::serialize(*payload));
  return ok;
}

}  // namespace dorm::net
