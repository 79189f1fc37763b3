// Key derivation natives: PBKDF2 (RFC 8018) and HKDF (RFC 5869). See crypto_subtle.h.
#include <openssl/kdf.h>

#include "js/strings.h"
#include "runtime/crypto_subtle.h"

namespace dorm::runtime::crypto {

namespace {

// The prelude caps iterations (as Cloudflare does) well below this; the native refuses anything
// above it so that no caller can hold the thread for long.
constexpr int64_t kMaxPbkdf2Iterations = 100000;
// Both derive at most 255 hash lengths (HKDF's bound), at most 255 * 64 bytes.
constexpr int64_t kMaxDerivedBytes = 255 * 64;

}  // namespace

// pbkdf2(hash, password, salt, iterations: 1..100000, bytes: 0..16320) → ArrayBuffer
void Pbkdf2(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  const EVP_MD* md = DigestArg(info, 0, /*allow_md5=*/true);
  if (md == nullptr) return;
  auto password = BytesArg(info, 1, "password");
  if (!password) return;
  auto salt = BytesArg(info, 2, "salt");
  if (!salt) return;
  auto iterations = IntegerArg(info, 3, 1, kMaxPbkdf2Iterations, "iterations");
  if (!iterations) return;
  auto length = IntegerArg(info, 4, 0, kMaxDerivedBytes, "length");
  if (!length) return;
  std::string out(static_cast<size_t>(*length), '\0');
  if (!out.empty() &&
      PKCS5_PBKDF2_HMAC(password->data(), static_cast<int>(password->size()), UnsignedBytes(*salt),
                        static_cast<int>(salt->size()), static_cast<int>(*iterations), md,
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    ClearOpenSslErrors();
    js::ThrowError(isolate, "PBKDF2 failed");
    return;
  }
  info.GetReturnValue().Set(NewArrayBuffer(isolate, out));
}

// hkdf(hash, key, salt, info, bytes: 0..16320) → ArrayBuffer | null (null: longer than 255
// hash lengths)
void Hkdf(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  const EVP_MD* md = DigestArg(info, 0, /*allow_md5=*/true);
  if (md == nullptr) return;
  auto key = BytesArg(info, 1, "key");
  if (!key) return;
  auto salt = BytesArg(info, 2, "salt");
  if (!salt) return;
  auto extra = BytesArg(info, 3, "info");
  if (!extra) return;
  auto length = IntegerArg(info, 4, 0, kMaxDerivedBytes, "length");
  if (!length) return;
  if (*length > 255 * EVP_MD_get_size(md)) {
    info.GetReturnValue().SetNull();
    return;
  }
  std::string out(static_cast<size_t>(*length), '\0');
  if (!out.empty()) {
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
    size_t out_length = out.size();
    // An empty key or salt is legal in RFC 5869; OpenSSL wants a non-null pointer for them.
    static const unsigned char kEmpty = 0;
    bool ok =
        ctx && EVP_PKEY_derive_init(ctx.get()) == 1 &&
        EVP_PKEY_CTX_set_hkdf_md(ctx.get(), md) == 1 &&
        EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), key->empty() ? &kEmpty : UnsignedBytes(*key),
                                   static_cast<int>(key->size())) == 1 &&
        EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), salt->empty() ? &kEmpty : UnsignedBytes(*salt),
                                    static_cast<int>(salt->size())) == 1 &&
        (extra->empty() || EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), UnsignedBytes(*extra),
                                                       static_cast<int>(extra->size())) == 1) &&
        EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &out_length) ==
            1 &&
        out_length == out.size();
    ClearOpenSslErrors();
    if (!ok) {
      js::ThrowError(isolate, "HKDF failed");
      return;
    }
  }
  info.GetReturnValue().Set(NewArrayBuffer(isolate, out));
}

}  // namespace dorm::runtime::crypto
