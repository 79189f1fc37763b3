// Tokens are made here with OpenSSL directly (keys generated per test binary), so the verifier is
// checked against independently produced signatures.
#include "net/jwt_verifier.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>

#include "util/base64.h"
#include "util/crypto.h"

namespace dorm::net {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

constexpr int64_t kNow = 1'800'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

Pkey NewRsa(unsigned bits = 2048) {
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
}
Pkey NewEc(const char* curve = "P-256") {
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

// Keys are slow to generate: one of each kind for the whole binary.
EVP_PKEY* Rsa1() {
  static Pkey key = NewRsa();
  return key.get();
}
EVP_PKEY* Rsa2() {
  static Pkey key = NewRsa();
  return key.get();
}
EVP_PKEY* Ec1() {
  static Pkey key = NewEc();
  return key.get();
}

std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

std::string PrivatePem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
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
  return Base64UrlEncode(out);
}

std::string RsaJwk(EVP_PKEY* key, const std::string& kid) {
  return R"({"kty":"RSA","use":"sig","alg":"RS256","kid":")" + kid + R"(","n":")" +
         BnParam(key, OSSL_PKEY_PARAM_RSA_N) + R"(","e":")" + BnParam(key, OSSL_PKEY_PARAM_RSA_E) +
         R"("})";
}

std::string EcJwk(EVP_PKEY* key, const std::string& kid) {
  return R"({"kty":"EC","crv":"P-256","kid":")" + kid + R"(","x":")" +
         BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32) + R"(","y":")" +
         BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32) + R"("})";
}

std::string SignSha256(EVP_PKEY* key, const std::string& data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t length = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()),
                 data.size());
  std::string sig(length, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &length,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  EVP_MD_CTX_free(ctx);
  sig.resize(length);
  return sig;
}

// JWS wants R || S, OpenSSL produces DER.
std::string DerToRaw(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

std::string Signed(const std::string& header, const std::string& payload) {
  return Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
}

std::string Hs256(const std::string& payload, const std::string& secret = kSecret,
                  const std::string& header = R"({"alg":"HS256","typ":"JWT"})") {
  std::string input = Signed(header, payload);
  Sha256Digest mac = HmacSha256(secret, input);
  return input + "." +
         Base64UrlEncode(std::string(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

std::string Rs256(EVP_PKEY* key, const std::string& payload, const std::string& kid = "") {
  std::string header =
      kid.empty() ? R"({"alg":"RS256"})" : R"({"alg":"RS256","kid":")" + kid + R"("})";
  std::string input = Signed(header, payload);
  return input + "." + Base64UrlEncode(SignSha256(key, input));
}

std::string Es256(EVP_PKEY* key, const std::string& payload, const std::string& kid = "",
                  bool raw_signature = true) {
  std::string header =
      kid.empty() ? R"({"alg":"ES256"})" : R"({"alg":"ES256","kid":")" + kid + R"("})";
  std::string input = Signed(header, payload);
  std::string der = SignSha256(key, input);
  return input + "." + Base64UrlEncode(raw_signature ? DerToRaw(der) : der);
}

std::string Claims(int64_t exp_offset = 3600, const std::string& extra = "") {
  return R"({"sub":"user-1","exp":)" + std::to_string(kNow + exp_offset) + extra + "}";
}

JwtKeySet SecretOnly() {
  JwtKeySet keys;
  keys.hs256_secret = kSecret;
  return keys;
}

JwtKeySet PemOnly(EVP_PKEY* key) {
  JwtKeySet keys;
  keys.public_keys_pem = PublicPem(key);
  return keys;
}

void ExpectRefused(const JwtVerification& v, const std::string& reason_part) {
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(v.claims_json.empty());
  EXPECT_NE(v.error.find(reason_part), std::string::npos)
      << "error \"" << v.error << "\" should mention \"" << reason_part << "\"";
}

TEST(JwtVerifier, AcceptsAValidHs256TokenAndReturnsItsClaims) {
  JwtVerifier verifier(SecretOnly());
  JwtVerification v = verifier.Verify(Hs256(Claims(3600, R"(,"role":"admin")")), kNow);
  ASSERT_TRUE(v.ok) << v.error;
  EXPECT_EQ(v.claims_json,
            R"({"sub":"user-1","exp":)" + std::to_string(kNow + 3600) + R"(,"role":"admin"})");
}

TEST(JwtVerifier, ExpiryHasSixtySecondsOfLeeway) {
  JwtVerifier verifier(SecretOnly());
  EXPECT_TRUE(verifier.Verify(Hs256(Claims(-59)), kNow).ok);
  ExpectRefused(verifier.Verify(Hs256(Claims(-60)), kNow), "expired");
  ExpectRefused(verifier.Verify(Hs256(Claims(-3600)), kNow), "expired");
}

TEST(JwtVerifier, NotBeforeHasSixtySecondsOfLeeway) {
  JwtVerifier verifier(SecretOnly());
  EXPECT_TRUE(
      verifier.Verify(Hs256(Claims(3600, ",\"nbf\":" + std::to_string(kNow + 60))), kNow).ok);
  ExpectRefused(verifier.Verify(Hs256(Claims(3600, ",\"nbf\":" + std::to_string(kNow + 61))), kNow),
                "not valid yet");
}

TEST(JwtVerifier, RequiresANumericExpiry) {
  JwtVerifier verifier(SecretOnly());
  ExpectRefused(verifier.Verify(Hs256(R"({"sub":"x"})"), kNow), "no expiry");
  ExpectRefused(verifier.Verify(Hs256(R"({"sub":"x","exp":"tomorrow"})"), kNow), "\"exp\"");
  ExpectRefused(verifier.Verify(Hs256(Claims(3600, R"(,"nbf":"now")")), kNow),
                "\"nbf\" is not a number");
  EXPECT_TRUE(verifier.Verify(Hs256(R"({"exp":)" + std::to_string(kNow + 10) + ".5}"), kNow).ok);
}

TEST(JwtVerifier, RefusesWrongSignaturesAndTampering) {
  JwtVerifier verifier(SecretOnly());
  ExpectRefused(verifier.Verify(Hs256(Claims(), kSecret + "x"), kNow), "signature is invalid");
  std::string token = Hs256(Claims());
  std::string tampered =
      Signed(R"({"alg":"HS256","typ":"JWT"})", Claims(3600, R"(,"role":"admin")")) +
      token.substr(token.rfind('.'));
  ExpectRefused(verifier.Verify(tampered, kNow), "signature is invalid");
  ExpectRefused(verifier.Verify(token.substr(0, token.rfind('.') + 1), kNow),
                "signature is invalid");
}

TEST(JwtVerifier, RefusesAlgNoneAndUnknownAlgorithms) {
  JwtVerifier verifier(SecretOnly());
  std::string none = Signed(R"({"alg":"none"})", Claims()) + ".";
  ExpectRefused(verifier.Verify(none, kNow), "'none' is not accepted");
  ExpectRefused(verifier.Verify(Hs256(Claims(), kSecret, R"({"alg":"HS512"})"), kNow),
                "'HS512' is not accepted");
  ExpectRefused(verifier.Verify(Hs256(Claims(), kSecret, R"({"typ":"JWT"})"), kNow), "no \"alg\"");
  ExpectRefused(
      verifier.Verify(Hs256(Claims(), kSecret, R"({"alg":"HS256","crit":["exp"]})"), kNow), "crit");
}

TEST(JwtVerifier, NeverChecksAnHs256TokenAgainstPublicKeyBytes) {
  // The classic confusion: an attacker signs HS256 with the (public) PEM text as HMAC secret.
  std::string pem = PublicPem(Rsa1());
  JwtVerifier pem_only(PemOnly(Rsa1()));
  ExpectRefused(pem_only.Verify(Hs256(Claims(), pem), kNow), "HS256 tokens are not accepted");
  JwtKeySet both = PemOnly(Rsa1());
  both.hs256_secret = kSecret;
  JwtVerifier mixed(both);
  ExpectRefused(mixed.Verify(Hs256(Claims(), pem), kNow), "signature is invalid");
  EXPECT_TRUE(mixed.Verify(Rs256(Rsa1(), Claims()), kNow).ok);
  EXPECT_TRUE(mixed.Verify(Hs256(Claims()), kNow).ok);
  // And the other way round: an RS256 header does not make the HMAC secret a public key.
  JwtVerifier secret_only(SecretOnly());
  ExpectRefused(secret_only.Verify(Rs256(Rsa1(), Claims()), kNow), "RS256 tokens are not accepted");
}

TEST(JwtVerifier, VerifiesRs256WithPemKeys) {
  JwtVerifier verifier(PemOnly(Rsa1()));
  EXPECT_TRUE(verifier.Verify(Rs256(Rsa1(), Claims()), kNow).ok);
  ExpectRefused(verifier.Verify(Rs256(Rsa2(), Claims()), kNow), "signature is invalid");
  ExpectRefused(verifier.Verify(Rs256(Rsa1(), Claims(-3600)), kNow), "expired");
  ExpectRefused(verifier.Verify(Es256(Ec1(), Claims()), kNow), "ES256 tokens are not accepted");
  // Several PEM blocks in one file: either key verifies.
  JwtKeySet two;
  two.public_keys_pem = PublicPem(Rsa1()) + PublicPem(Rsa2());
  JwtVerifier both(two);
  EXPECT_EQ(both.pem_key_count(), 2u);
  EXPECT_TRUE(both.Verify(Rs256(Rsa2(), Claims()), kNow).ok);
}

TEST(JwtVerifier, VerifiesEs256WithRawSignaturesOnly) {
  JwtVerifier verifier(PemOnly(Ec1()));
  EXPECT_TRUE(verifier.Verify(Es256(Ec1(), Claims()), kNow).ok);
  Pkey other = NewEc();
  ExpectRefused(verifier.Verify(Es256(other.get(), Claims()), kNow), "signature is invalid");
  // A DER signature is not the JWS form.
  ExpectRefused(verifier.Verify(Es256(Ec1(), Claims(), "", false), kNow), "signature is invalid");
}

TEST(JwtVerifier, SelectsJwksKeysByKid) {
  JwtKeySet keys;
  keys.jwks_json = R"({"keys":[)" + RsaJwk(Rsa1(), "one") + "," + RsaJwk(Rsa2(), "two") + "," +
                   EcJwk(Ec1(), "ec") + R"(,{"kty":"oct","k":"c2VjcmV0"},)" +
                   R"({"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]})";
  JwtVerifier verifier(keys);
  EXPECT_EQ(verifier.jwks_key_count(), 3u);
  EXPECT_FALSE(verifier.accepts_hs256());
  EXPECT_TRUE(verifier.Verify(Rs256(Rsa2(), Claims(), "two"), kNow).ok);
  EXPECT_TRUE(verifier.Verify(Rs256(Rsa1(), Claims(), "one"), kNow).ok);
  EXPECT_TRUE(verifier.Verify(Es256(Ec1(), Claims(), "ec"), kNow).ok);
  // The kid picks the key: a token signed by key one but naming key two fails.
  ExpectRefused(verifier.Verify(Rs256(Rsa1(), Claims(), "two"), kNow), "signature is invalid");
  ExpectRefused(verifier.Verify(Rs256(Rsa1(), Claims(), "three"), kNow), "is not a configured key");
  // Without a kid every key of the algorithm's type is tried.
  EXPECT_TRUE(verifier.Verify(Rs256(Rsa2(), Claims()), kNow).ok);
  ExpectRefused(verifier.Verify(Hs256(Claims()), kNow), "HS256 tokens are not accepted");
}

TEST(JwtVerifier, ChecksIssuerAndAudienceWhenConfigured) {
  JwtKeySet keys = SecretOnly();
  keys.issuer = "https://issuer.example";
  keys.audience = "dorm-app";
  JwtVerifier verifier(keys);
  const std::string iss = R"(,"iss":"https://issuer.example")";
  EXPECT_TRUE(verifier.Verify(Hs256(Claims(3600, iss + R"(,"aud":"dorm-app")")), kNow).ok);
  EXPECT_TRUE(
      verifier.Verify(Hs256(Claims(3600, iss + R"(,"aud":["other","dorm-app"])")), kNow).ok);
  ExpectRefused(verifier.Verify(Hs256(Claims(3600, iss + R"(,"aud":"other")")), kNow), "audience");
  ExpectRefused(verifier.Verify(Hs256(Claims(3600, iss)), kNow), "audience");
  ExpectRefused(verifier.Verify(
                    Hs256(Claims(3600, R"(,"iss":"https://evil.example","aud":"dorm-app")")), kNow),
                "issuer");
  ExpectRefused(verifier.Verify(Hs256(Claims(3600, R"(,"aud":"dorm-app")")), kNow), "issuer");
  // Unconfigured, neither is checked.
  JwtVerifier lax(SecretOnly());
  EXPECT_TRUE(lax.Verify(Hs256(Claims(3600, R"(,"iss":"anyone","aud":"any")")), kNow).ok);
}

TEST(JwtVerifier, RefusesMalformedTokens) {
  JwtVerifier verifier(SecretOnly());
  std::string good = Hs256(Claims());
  ExpectRefused(verifier.Verify("", kNow), "three base64url parts");
  ExpectRefused(verifier.Verify("abc", kNow), "three base64url parts");
  ExpectRefused(verifier.Verify("a.b", kNow), "three base64url parts");
  ExpectRefused(verifier.Verify(good + ".extra", kNow), "three base64url parts");
  ExpectRefused(verifier.Verify("!!!." + good.substr(good.find('.') + 1), kNow), "header");
  ExpectRefused(verifier.Verify(Hs256(Claims(), kSecret, "{not json"), kNow), "header");
  ExpectRefused(verifier.Verify(Hs256("[1,2]"), kNow), "payload");
  ExpectRefused(verifier.Verify(Hs256("{\"exp\": 1"), kNow), "payload");
  std::string header = good.substr(0, good.find('.'));
  ExpectRefused(verifier.Verify(header + ".e30=." + good.substr(good.rfind('.') + 1), kNow),
                "payload");  // padding is not base64url
  ExpectRefused(verifier.Verify(good.substr(0, good.rfind('.') + 1) + "a+b/", kNow), "signature");
  ExpectRefused(verifier.Verify(Hs256(Claims(), kSecret, R"({"alg":"HS256","kid":7})"), kNow),
                "kid");
}

TEST(JwtVerifier, ClaimsHeaderValueIsAsciiJson) {
  JwtVerifier verifier(SecretOnly());
  // "Zoë 😀" and a quote, in UTF-8.
  JwtVerification v =
      verifier.Verify(Hs256(Claims(3600, ",\"name\":\"Zo\xc3\xab \xf0\x9f\x98\x80\\\"\"")), kNow);
  ASSERT_TRUE(v.ok) << v.error;
  for (char c : v.claims_json) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20);
    EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  }
  EXPECT_NE(v.claims_json.find(R"("name":"Zo\u00eb \ud83d\ude00\"")"), std::string::npos)
      << v.claims_json;
}

TEST(JwtVerifier, RefusesNumbersOutOfRangeSoClaimsStayJson) {
  // Found by tests/fuzz/jwt_verifier_fuzzer: 1e400 reads as infinity and would be handed to the
  // object as `Infinity`, which JSON.parse refuses.
  JwtVerifier verifier(SecretOnly());
  ExpectRefused(verifier.Verify(Hs256(Claims(3600, R"(,"n":-1e400)")), kNow), "out of range");
  ExpectRefused(verifier.Verify(Hs256(Claims(3600, R"(,"a":[{"b":1e999}])")), kNow),
                "out of range");
  JwtVerification v = verifier.Verify(Hs256(Claims(3600, R"(,"n":1e308)")), kNow);
  ASSERT_TRUE(v.ok) << v.error;
  EXPECT_EQ(v.claims_json.find("Infinity"), std::string::npos) << v.claims_json;
}

TEST(JwtVerifier, RefusesUnusableConfigurations) {
  EXPECT_THROW(JwtVerifier(JwtKeySet{}), std::invalid_argument);
  JwtKeySet short_secret;
  short_secret.hs256_secret = "too short";
  EXPECT_THROW(JwtVerifier{short_secret}, std::invalid_argument);
  JwtKeySet private_key;
  private_key.public_keys_pem = PrivatePem(Ec1());
  try {
    JwtVerifier v(private_key);
    ADD_FAILURE() << "a private key was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("private key"), std::string::npos) << e.what();
  }
  JwtKeySet garbage;
  garbage.public_keys_pem = "not a pem file";
  EXPECT_THROW(JwtVerifier{garbage}, std::invalid_argument);
  Pkey weak = NewRsa(1024);
  EXPECT_THROW(JwtVerifier{PemOnly(weak.get())}, std::invalid_argument);
  Pkey p384 = NewEc("P-384");
  EXPECT_THROW(JwtVerifier{PemOnly(p384.get())}, std::invalid_argument);
  JwtKeySet no_usable_jwk;
  no_usable_jwk.jwks_json = R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})";
  EXPECT_THROW(JwtVerifier{no_usable_jwk}, std::invalid_argument);
  JwtKeySet not_jwks;
  not_jwks.jwks_json = R"([1])";
  EXPECT_THROW(JwtVerifier{not_jwks}, std::invalid_argument);
  JwtKeySet bad_point;
  bad_point.jwks_json = R"({"keys":[{"kty":"EC","crv":"P-256","x":")" +
                        Base64UrlEncode(std::string(32, '\x01')) + R"(","y":")" +
                        Base64UrlEncode(std::string(32, '\x02')) + R"("}]})";
  EXPECT_THROW(JwtVerifier{bad_point}, std::invalid_argument);
}

}  // namespace
}  // namespace dorm::net
