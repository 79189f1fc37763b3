// The natives behind crypto.subtle's key-based operations (js/prelude/crypto_*.js), and the
// argument helpers they share. Contracts: docs/contracts.md ("WebCrypto").
//
// Division of labour: the prelude normalises algorithms, checks usages and produces every
// DOMException with workerd's messages; these natives only compute. They are stateless: a key is
// passed in as its bytes (the raw secret, or the DER of a private key as PKCS #8 or of a public key
// as SubjectPublicKeyInfo) that the prelude keeps in a private field of its CryptoKey, so user code
// can neither read nor forge the material. They still parse every argument as untrusted (user code
// can replace built-ins the prelude would use): a value of the wrong type throws a TypeError, bytes
// that do not decode make the native return null, never crash.
//
// Results are fresh ArrayBuffers (or arrays of Uint8Arrays, built without running user code).
// "Failed" outcomes that the prelude reports with a workerd message (bad padding, an unparseable
// key) are `null` returns, not exceptions.
//
// Threading: called on the isolate's thread, inside a turn. Every native is synchronous; the
// costly ones are bounded by their callers' limits (PBKDF2 iterations, RSA modulus sizes) and RSA
// key generation by a CPU-time budget (see crypto_keys.cc).
#pragma once

#include <openssl/evp.h>
#include <v8.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace dorm::runtime::crypto {

// --- Natives (each file documents its own) ---
void Hmac(const v8::FunctionCallbackInfo<v8::Value>& info);         // crypto_symmetric.cc
void AesCrypt(const v8::FunctionCallbackInfo<v8::Value>& info);     // crypto_symmetric.cc
void AesKeyWrap(const v8::FunctionCallbackInfo<v8::Value>& info);   // crypto_symmetric.cc
void Pbkdf2(const v8::FunctionCallbackInfo<v8::Value>& info);       // crypto_kdf.cc
void Hkdf(const v8::FunctionCallbackInfo<v8::Value>& info);         // crypto_kdf.cc
void KeyGenerate(const v8::FunctionCallbackInfo<v8::Value>& info);  // crypto_keys.cc
void KeyParse(const v8::FunctionCallbackInfo<v8::Value>& info);     // crypto_keys.cc
void KeyFromRaw(const v8::FunctionCallbackInfo<v8::Value>& info);   // crypto_keys.cc
void KeyFromJwk(const v8::FunctionCallbackInfo<v8::Value>& info);   // crypto_keys.cc
void KeyExport(const v8::FunctionCallbackInfo<v8::Value>& info);    // crypto_keys.cc
void Sign(const v8::FunctionCallbackInfo<v8::Value>& info);         // crypto_signatures.cc
void Verify(const v8::FunctionCallbackInfo<v8::Value>& info);       // crypto_signatures.cc
void RsaOaep(const v8::FunctionCallbackInfo<v8::Value>& info);      // crypto_rsa_oaep.cc
void DeriveSharedSecret(
    const v8::FunctionCallbackInfo<v8::Value>& info);  // crypto_key_agreement.cc

// --- Helpers (crypto_args.cc) ---

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// A copy of the bytes of argument `index`, which must be a Uint8Array; nullopt with a TypeError
// thrown (naming `what`) otherwise. `optional` also accepts undefined, as an empty string.
std::optional<std::string> BytesArg(const v8::FunctionCallbackInfo<v8::Value>& info, int index,
                                    const char* what, bool optional = false);
// Argument `index` as a string; nullopt with a TypeError thrown otherwise.
std::optional<std::string> StringArg(const v8::FunctionCallbackInfo<v8::Value>& info, int index,
                                     const char* what);
// Argument `index`, which must be a boolean; nullopt with a TypeError thrown otherwise (no
// truthiness: the prelude passes true or false).
std::optional<bool> BoolArg(const v8::FunctionCallbackInfo<v8::Value>& info, int index,
                            const char* what);
// Argument `index` as an integer in [min, max]; nullopt with a TypeError thrown otherwise.
std::optional<int64_t> IntegerArg(const v8::FunctionCallbackInfo<v8::Value>& info, int index,
                                  int64_t min, int64_t max, const char* what);
// The digest named "SHA-1", "SHA-256", "SHA-384" or "SHA-512" (and "MD5" when `allow_md5`) by
// argument `index`; nullptr with a TypeError thrown for anything else.
const EVP_MD* DigestArg(const v8::FunctionCallbackInfo<v8::Value>& info, int index,
                        bool allow_md5 = false);

// A new ArrayBuffer holding `bytes`; empty, with an exception pending, when the isolate's memory
// budget has no room for it (js/array_buffers.h). Setting an empty result as a native's return
// value returns undefined, and the exception ends the call.
v8::Local<v8::ArrayBuffer> NewArrayBuffer(v8::Isolate* isolate, std::string_view bytes);
// Sets the native's return value: `bytes` in a new ArrayBuffer (NewArrayBuffer) when `ok`, else
// null, what the natives answer when the operation fails on what the caller gave them (data that
// does not decrypt, a key agreement that yields zero).
void ReturnBytesOrNull(const v8::FunctionCallbackInfo<v8::Value>& info, bool ok,
                       std::string_view bytes);
// A new Uint8Array (over its own ArrayBuffer) holding `bytes`; empty as NewArrayBuffer.
v8::Local<v8::Uint8Array> NewUint8Array(v8::Isolate* isolate, std::string_view bytes);

// Keys from DER; null when `der` is not exactly one key of that form. `consumed` (optional)
// receives how many bytes the key took, so that callers can reject trailing bytes.
PkeyPtr ParsePublicKey(std::string_view der, size_t* consumed = nullptr);
PkeyPtr ParsePrivateKey(std::string_view der, size_t* consumed = nullptr);
// The key's DER as SubjectPublicKeyInfo, or as PKCS #8 (private keys only); "" on failure.
std::string EncodePublicKey(EVP_PKEY* key);
std::string EncodePrivateKey(EVP_PKEY* key);

// The WebCrypto name of an elliptic-curve key's curve ("P-256", "P-384", "P-521"), "" for any
// other curve or key type.
std::string CurveName(EVP_PKEY* key);
// The OpenSSL group name for a WebCrypto curve name, nullptr if unknown.
const char* GroupName(std::string_view curve);
// Bytes per coordinate (and per half of an IEEE P1363 signature) of a WebCrypto curve; 0 if
// unknown.
size_t CoordinateBytes(std::string_view curve);

// Drops OpenSSL's error queue, so that one failure does not surface in a later call.
void ClearOpenSslErrors();

// A byte string as OpenSSL's functions take it; valid while `bytes` is unchanged.
inline unsigned char* UnsignedBytes(std::string& bytes) {
  return reinterpret_cast<unsigned char*>(bytes.data());
}
inline const unsigned char* UnsignedBytes(const std::string& bytes) {
  return reinterpret_cast<const unsigned char*>(bytes.data());
}

}  // namespace dorm::runtime::crypto
