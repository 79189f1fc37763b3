// Argument checking and key encoding shared by the WebCrypto natives (crypto_subtle.h).
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <cmath>

#include "js/array_buffers.h"
#include "js/strings.h"
#include "runtime/crypto_subtle.h"

namespace dorm::runtime::crypto {

namespace {

std::string TypeMessage(const char* what, const char* expected) {
  return std::string(what) + " must be " + expected;
}

}  // namespace

std::optional<std::string> BytesArg(const v8::FunctionCallbackInfo<v8::Value>& info, int index,
                                    const char* what, bool optional) {
  v8::Local<v8::Value> value = info[index];
  if (optional && value->IsUndefined()) return std::string();
  if (!value->IsUint8Array()) {
    js::ThrowTypeError(info.GetIsolate(), TypeMessage(what, "a Uint8Array"));
    return std::nullopt;
  }
  v8::Local<v8::Uint8Array> view = value.As<v8::Uint8Array>();
  std::string bytes(view->ByteLength(), '\0');
  // CopyContents copes with detached and resized buffers (it copies what is there).
  if (!bytes.empty()) bytes.resize(view->CopyContents(bytes.data(), bytes.size()));
  return bytes;
}

std::optional<std::string> StringArg(const v8::FunctionCallbackInfo<v8::Value>& info, int index,
                                     const char* what) {
  std::string out;
  if (!js::StringToUtf8(info.GetIsolate(), info[index], &out)) {
    js::ThrowTypeError(info.GetIsolate(), TypeMessage(what, "a string"));
    return std::nullopt;
  }
  return out;
}

std::optional<bool> BoolArg(const v8::FunctionCallbackInfo<v8::Value>& info, int index,
                            const char* what) {
  if (!info[index]->IsBoolean()) {
    js::ThrowTypeError(info.GetIsolate(), TypeMessage(what, "a boolean"));
    return std::nullopt;
  }
  return info[index]->IsTrue();
}

std::optional<int64_t> IntegerArg(const v8::FunctionCallbackInfo<v8::Value>& info, int index,
                                  int64_t min, int64_t max, const char* what) {
  v8::Local<v8::Value> value = info[index];
  if (value->IsNumber()) {
    double n = value.As<v8::Number>()->Value();
    if (std::isfinite(n) && n == std::trunc(n) && n >= static_cast<double>(min) &&
        n <= static_cast<double>(max)) {
      return static_cast<int64_t>(n);
    }
  }
  js::ThrowTypeError(info.GetIsolate(), TypeMessage(what, "an integer in range"));
  return std::nullopt;
}

const EVP_MD* DigestArg(const v8::FunctionCallbackInfo<v8::Value>& info, int index,
                        bool allow_md5) {
  std::string name;
  js::StringToUtf8(info.GetIsolate(), info[index], &name);
  const EVP_MD* md = name == "SHA-1"                ? EVP_sha1()
                     : name == "SHA-256"            ? EVP_sha256()
                     : name == "SHA-384"            ? EVP_sha384()
                     : name == "SHA-512"            ? EVP_sha512()
                     : (allow_md5 && name == "MD5") ? EVP_md5()
                                                    : nullptr;
  if (md == nullptr) js::ThrowTypeError(info.GetIsolate(), "unknown digest");
  return md;
}

v8::Local<v8::ArrayBuffer> NewArrayBuffer(v8::Isolate* isolate, std::string_view bytes) {
  return js::NewArrayBufferCopy(isolate, bytes).FromMaybe(v8::Local<v8::ArrayBuffer>());
}

void ReturnBytesOrNull(const v8::FunctionCallbackInfo<v8::Value>& info, bool ok,
                       std::string_view bytes) {
  if (!ok) {
    info.GetReturnValue().SetNull();
    return;
  }
  info.GetReturnValue().Set(NewArrayBuffer(info.GetIsolate(), bytes));
}

v8::Local<v8::Uint8Array> NewUint8Array(v8::Isolate* isolate, std::string_view bytes) {
  return js::NewUint8ArrayCopy(isolate, bytes).FromMaybe(v8::Local<v8::Uint8Array>());
}

PkeyPtr ParsePublicKey(std::string_view der, size_t* consumed) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* start = p;
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  ClearOpenSslErrors();
  if (key && consumed != nullptr) *consumed = static_cast<size_t>(p - start);
  return key;
}

PkeyPtr ParsePrivateKey(std::string_view der, size_t* consumed) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* start = p;
  PkeyPtr key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
  ClearOpenSslErrors();
  if (key && consumed != nullptr) *consumed = static_cast<size_t>(p - start);
  return key;
}

std::string EncodePublicKey(EVP_PKEY* key) {
  unsigned char* out = nullptr;
  int length = i2d_PUBKEY(key, &out);
  std::string der;
  if (length > 0) der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(length));
  OPENSSL_free(out);
  ClearOpenSslErrors();
  return der;
}

std::string EncodePrivateKey(EVP_PKEY* key) {
  std::string der;
  PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(key);
  if (p8 != nullptr) {
    unsigned char* out = nullptr;
    int length = i2d_PKCS8_PRIV_KEY_INFO(p8, &out);
    if (length > 0) der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(length));
    OPENSSL_free(out);
    PKCS8_PRIV_KEY_INFO_free(p8);
  }
  ClearOpenSslErrors();
  return der;
}

std::string CurveName(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return "";
  char group[64];
  size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &length) != 1) {
    ClearOpenSslErrors();
    return "";
  }
  std::string_view name(group, length);
  if (name == "prime256v1" || name == "P-256") return "P-256";
  if (name == "secp384r1" || name == "P-384") return "P-384";
  if (name == "secp521r1" || name == "P-521") return "P-521";
  return "";
}

const char* GroupName(std::string_view curve) {
  if (curve == "P-256") return "prime256v1";
  if (curve == "P-384") return "secp384r1";
  if (curve == "P-521") return "secp521r1";
  return nullptr;
}

size_t CoordinateBytes(std::string_view curve) {
  if (curve == "P-256") return 32;
  if (curve == "P-384") return 48;
  if (curve == "P-521") return 66;
  return 0;
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace dorm::runtime::crypto
