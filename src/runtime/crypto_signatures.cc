// Signature natives: RSASSA-PKCS1-v1_5, RSA-PSS, ECDSA (signatures in IEEE P1363 form, r || s,
// as WebCrypto has them) and Ed25519. See crypto_subtle.h.
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "js/strings.h"
#include "runtime/crypto_subtle.h"

namespace dorm::runtime::crypto {

namespace {

struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

// The arguments every signature native shares, checked.
struct SignatureArgs {
  std::string algorithm;  // "RSASSA-PKCS1-v1_5", "RSA-PSS", "ECDSA", "Ed25519"
  PkeyPtr key;
  const EVP_MD* md = nullptr;  // null for Ed25519
  int salt_length = 0;         // RSA-PSS only
  size_t half = 0;             // ECDSA: bytes of r and of s
};

// Reads (algorithm, der, hash, saltLength) at 0..3; the key must be private for signing and
// public for verifying, and of the algorithm's type. false with a TypeError thrown otherwise.
bool ReadArgs(const v8::FunctionCallbackInfo<v8::Value>& info, bool is_private,
              SignatureArgs* args) {
  v8::Isolate* isolate = info.GetIsolate();
  auto algorithm = StringArg(info, 0, "algorithm");
  if (!algorithm) return false;
  args->algorithm = *algorithm;
  auto der = BytesArg(info, 1, "key");
  if (!der) return false;
  args->key = is_private ? ParsePrivateKey(*der) : ParsePublicKey(*der);
  int type = args->key ? EVP_PKEY_get_base_id(args->key.get()) : EVP_PKEY_NONE;
  bool is_rsa = args->algorithm == "RSASSA-PKCS1-v1_5" || args->algorithm == "RSA-PSS";
  bool matches = is_rsa                         ? type == EVP_PKEY_RSA
                 : args->algorithm == "ECDSA"   ? type == EVP_PKEY_EC
                 : args->algorithm == "Ed25519" ? type == EVP_PKEY_ED25519
                                                : false;
  if (!matches) {
    js::ThrowTypeError(isolate, "signature: key and algorithm do not match");
    return false;
  }
  if (args->algorithm != "Ed25519") {
    args->md = DigestArg(info, 2);
    if (args->md == nullptr) return false;
  }
  if (args->algorithm == "RSA-PSS") {
    auto salt = IntegerArg(info, 3, 0, 1 << 16, "saltLength");
    if (!salt) return false;
    args->salt_length = static_cast<int>(*salt);
  }
  if (args->algorithm == "ECDSA") {
    args->half = CoordinateBytes(CurveName(args->key.get()));
    if (args->half == 0) {
      js::ThrowTypeError(isolate, "signature: unsupported curve");
      return false;
    }
  }
  return true;
}

// Sets RSA-PSS padding on a DigestSign/Verify context (MGF1 with the message digest).
bool ConfigurePss(EVP_PKEY_CTX* ctx, const SignatureArgs& args) {
  return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, args.salt_length) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, args.md) == 1;
}

// DER ECDSA-Sig-Value → r || s, each padded to `half` bytes; "" if malformed.
std::string DerToP1363(const std::string& der, size_t half) {
  const unsigned char* p = UnsignedBytes(der);
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return "";
  std::string out(2 * half, '\0');
  auto* dest = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), dest, static_cast<int>(half)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), dest + half, static_cast<int>(half)) < 0) {
    return "";
  }
  return out;
}

// r || s → DER; "" when the length is not 2 * `half` (such a signature never verifies).
std::string P1363ToDer(const std::string& signature, size_t half) {
  if (signature.size() != 2 * half) return "";
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(UnsignedBytes(signature), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(UnsignedBytes(signature) + half, static_cast<int>(half), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return "";
  }
  unsigned char* out = nullptr;
  int length = i2d_ECDSA_SIG(sig.get(), &out);
  std::string der;
  if (length > 0) der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(length));
  OPENSSL_free(out);
  return der;
}

}  // namespace

// sign(algorithm, pkcs8: Uint8Array, hash, saltLength, data: Uint8Array) → ArrayBuffer
// `hash` is ignored for Ed25519, `saltLength` (0..65536) used by RSA-PSS only. The prelude checks
// that the key is large enough for the hash and salt; a failure here throws an Error.
void Sign(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  SignatureArgs args;
  if (!ReadArgs(info, /*is_private=*/true, &args)) return;
  auto data = BytesArg(info, 4, "data");
  if (!data) return;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  size_t length = 0;
  std::string signature;
  bool ok = ctx && EVP_DigestSignInit(ctx.get(), &pctx, args.md, nullptr, args.key.get()) == 1 &&
            (args.algorithm != "RSA-PSS" || ConfigurePss(pctx, args)) &&
            EVP_DigestSign(ctx.get(), nullptr, &length, UnsignedBytes(*data), data->size()) == 1;
  if (ok) {
    signature.resize(length);
    ok = EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                        UnsignedBytes(*data), data->size()) == 1;
    signature.resize(length);
  }
  if (ok && args.algorithm == "ECDSA") {
    signature = DerToP1363(signature, args.half);
    ok = !signature.empty();
  }
  ClearOpenSslErrors();
  if (!ok) {
    js::ThrowError(isolate, "signing failed");
    return;
  }
  info.GetReturnValue().Set(NewArrayBuffer(isolate, signature));
}

// verify(algorithm, spki: Uint8Array, hash, saltLength, signature, data) → boolean
void Verify(const v8::FunctionCallbackInfo<v8::Value>& info) {
  SignatureArgs args;
  if (!ReadArgs(info, /*is_private=*/false, &args)) return;
  auto signature = BytesArg(info, 4, "signature");
  if (!signature) return;
  auto data = BytesArg(info, 5, "data");
  if (!data) return;
  if (args.algorithm == "ECDSA") *signature = P1363ToDer(*signature, args.half);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  bool valid = !signature->empty() && ctx &&
               EVP_DigestVerifyInit(ctx.get(), &pctx, args.md, nullptr, args.key.get()) == 1 &&
               (args.algorithm != "RSA-PSS" || ConfigurePss(pctx, args)) &&
               EVP_DigestVerify(ctx.get(), UnsignedBytes(*signature), signature->size(),
                                UnsignedBytes(*data), data->size()) == 1;
  ClearOpenSslErrors();
  info.GetReturnValue().Set(valid);
}

}  // namespace dorm::runtime::crypto
