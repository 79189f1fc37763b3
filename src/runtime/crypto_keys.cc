// Asymmetric key natives: generation, import (SPKI, PKCS #8, raw, JWK components) and export
// (raw, JWK components) of RSA, EC (P-256/384/521), Ed25519 and X25519 keys. Keys cross the
// boundary as DER (crypto_subtle.h): private keys as PKCS #8, public keys as SPKI, both re-encoded
// here so that the prelude only ever stores what OpenSSL wrote.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <time.h>

#include <vector>

#include "js/strings.h"
#include "runtime/crypto_subtle.h"

namespace dorm::runtime::crypto {

namespace {

// RSA key generation runs in one native call that JavaScript cannot interrupt: it gives up (the
// native returns null) once it has used this much CPU time, the default CPU limit of a turn.
constexpr int64_t kRsaKeygenBudgetNs = 30'000'000'000;

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};

int64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// OpenSSL's key generation progress callback: 0 stops the generation.
int KeygenProgress(EVP_PKEY_CTX* ctx) {
  auto* deadline = static_cast<int64_t*>(EVP_PKEY_CTX_get_app_data(ctx));
  return ThreadCpuNs() < *deadline ? 1 : 0;
}

BnPtr ToBignum(std::string_view bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

// A big-endian integer parameter of `key`, padded with zeros to `width` bytes when `width` > 0;
// nullopt if the key lacks it or it does not fit.
std::optional<std::string> BnParam(EVP_PKEY* key, const char* name, size_t width = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    ClearOpenSslErrors();
    return std::nullopt;
  }
  BnPtr bn(raw);
  size_t size = static_cast<size_t>(BN_num_bytes(bn.get()));
  if (width == 0) width = size == 0 ? 1 : size;
  if (size > width) return std::nullopt;
  std::string out(width, '\0');
  BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(width));
  return out;
}

// A key built from OSSL_PARAMs of type `type` ("RSA", "EC"); null if OpenSSL refuses them.
PkeyPtr FromParams(const char* type, OSSL_PARAM_BLD* bld, bool is_private) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    ClearOpenSslErrors();
    return nullptr;
  }
  return PkeyPtr(key);
}

// Whether an EC key's point is on its curve (and, for a private key, matches the scalar).
bool EcKeyValid(EVP_PKEY* key, bool is_private) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  bool ok = ctx && (is_private ? EVP_PKEY_pairwise_check(ctx.get()) == 1 &&
                                     EVP_PKEY_public_check(ctx.get()) == 1
                               : EVP_PKEY_public_check(ctx.get()) == 1);
  ClearOpenSslErrors();
  return ok;
}

PkeyPtr EcFromComponents(std::string_view curve, const std::string& x, const std::string& y,
                         const std::string* d) {
  const char* group = GroupName(curve);
  size_t width = CoordinateBytes(curve);
  if (group == nullptr || x.size() > width || y.size() > width) return nullptr;
  std::string point =
      "\x04" + std::string(width - x.size(), '\0') + x + std::string(width - y.size(), '\0') + y;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  BnPtr private_scalar = d != nullptr ? ToBignum(*d) : nullptr;
  if (!bld || (d != nullptr && !private_scalar) ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1 ||
      (private_scalar &&
       OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, private_scalar.get()) != 1)) {
    return nullptr;
  }
  PkeyPtr key = FromParams("EC", bld.get(), d != nullptr);
  if (!key || !EcKeyValid(key.get(), d != nullptr)) return nullptr;
  return key;
}

PkeyPtr RsaFromComponents(const std::vector<std::optional<std::string>>& parts) {
  static const char* const kNames[] = {
      OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
      OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
      OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
      OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
  };
  if (parts.size() != 8 || !parts[0] || !parts[1]) return nullptr;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld) return nullptr;
  std::vector<BnPtr> numbers;
  for (size_t i = 0; i < 8; ++i) {
    if (!parts[i]) continue;
    numbers.push_back(ToBignum(*parts[i]));
    if (!numbers.back() ||
        OSSL_PARAM_BLD_push_BN(bld.get(), kNames[i], numbers.back().get()) != 1) {
      return nullptr;
    }
  }
  return FromParams("RSA", bld.get(), parts[2].has_value());
}

// The parts of argument `index`: an array whose elements are Uint8Arrays or undefined.
std::optional<std::vector<std::optional<std::string>>> PartsArg(
    const v8::FunctionCallbackInfo<v8::Value>& info, int index) {
  v8::Isolate* isolate = info.GetIsolate();
  if (!info[index]->IsArray()) {
    js::ThrowTypeError(isolate, "parts must be an array");
    return std::nullopt;
  }
  v8::Local<v8::Array> array = info[index].As<v8::Array>();
  if (array->Length() > 8) {
    js::ThrowTypeError(isolate, "too many parts");
    return std::nullopt;
  }
  std::vector<std::optional<std::string>> parts;
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  for (uint32_t i = 0; i < array->Length(); ++i) {
    // A hole reads as absent rather than through the prototype chain, where user code could
    // have put a getter. (The prelude builds the array itself, with data elements only.)
    v8::Local<v8::Value> element;
    v8::Maybe<bool> own = array->HasRealIndexedProperty(context, i);
    if (own.IsNothing()) return std::nullopt;
    if (!own.FromJust()) {
      parts.emplace_back();
      continue;
    }
    if (!array->Get(context, i).ToLocal(&element)) return std::nullopt;
    if (element->IsUndefined()) {
      parts.emplace_back();
    } else if (element->IsUint8Array()) {
      v8::Local<v8::Uint8Array> view = element.As<v8::Uint8Array>();
      std::string bytes(view->ByteLength(), '\0');
      if (!bytes.empty()) bytes.resize(view->CopyContents(bytes.data(), bytes.size()));
      parts.emplace_back(std::move(bytes));
    } else {
      js::ThrowTypeError(isolate, "parts must be Uint8Arrays or undefined");
      return std::nullopt;
    }
  }
  return parts;
}

// Empty if any value is (a buffer there was no room for, its exception pending).
v8::Local<v8::Array> MakeArray(v8::Isolate* isolate, std::vector<v8::Local<v8::Value>> values) {
  for (const auto& value : values) {
    if (value.IsEmpty()) return {};
  }
  return v8::Array::New(isolate, values.data(), values.size());
}

// The WebCrypto kind of a key: "RSA", "EC", "Ed25519", "X25519", or "" for a type WebCrypto has
// no algorithm for (and that workerd's parser rejects as input).
std::string KindOf(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "RSA";
    case EVP_PKEY_EC:
      return CurveName(key).empty() ? "" : "EC";
    case EVP_PKEY_ED25519:
      return "Ed25519";
    case EVP_PKEY_X25519:
      return "X25519";
    default:
      return "";
  }
}

}  // namespace

// keyGenerate("RSA", modulusBits: 256..16384, publicExponent: Uint8Array) |
// keyGenerate("EC", curve: "P-256"|"P-384"|"P-521") | keyGenerate("Ed25519"|"X25519")
//   → [pkcs8: Uint8Array, spki: Uint8Array] | null (null: RSA generation ran out of its budget)
void KeyGenerate(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  auto kind = StringArg(info, 0, "kind");
  if (!kind) return;
  PkeyPtr key;
  if (*kind == "RSA") {
    auto bits = IntegerArg(info, 1, 256, 16384, "modulusLength");
    if (!bits) return;
    auto exponent = BytesArg(info, 2, "publicExponent");
    if (!exponent) return;
    BnPtr e = ToBignum(*exponent);
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr));
    int64_t deadline = ThreadCpuNs() + kRsaKeygenBudgetNs;
    EVP_PKEY* raw = nullptr;
    if (e && ctx && EVP_PKEY_keygen_init(ctx.get()) == 1 &&
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(*bits)) == 1 &&
        EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()) == 1) {
      EVP_PKEY_CTX_set_app_data(ctx.get(), &deadline);
      EVP_PKEY_CTX_set_cb(ctx.get(), KeygenProgress);
      if (EVP_PKEY_keygen(ctx.get(), &raw) == 1) key.reset(raw);
    }
    ClearOpenSslErrors();
    if (!key) {
      info.GetReturnValue().SetNull();
      return;
    }
  } else if (*kind == "EC" || *kind == "Ed25519" || *kind == "X25519") {
    std::string curve;
    if (*kind == "EC") {
      auto name = StringArg(info, 1, "curve");
      if (!name) return;
      curve = *name;
    }
    const char* group = GroupName(curve);
    if (*kind == "EC" && group == nullptr) {
      js::ThrowTypeError(isolate, "keyGenerate: unknown curve");
      return;
    }
    key.reset(*kind == "EC"        ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group)
              : *kind == "Ed25519" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                   : EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    ClearOpenSslErrors();
  } else {
    js::ThrowTypeError(isolate, "keyGenerate: unknown kind");
    return;
  }
  std::string private_der = key ? EncodePrivateKey(key.get()) : "";
  std::string public_der = key ? EncodePublicKey(key.get()) : "";
  if (private_der.empty() || public_der.empty()) {
    js::ThrowError(isolate, "key generation failed");
    return;
  }
  info.GetReturnValue().Set(MakeArray(
      isolate, {NewUint8Array(isolate, private_der), NewUint8Array(isolate, public_der)}));
}

// keyParse(format: "spki"|"pkcs8", der: Uint8Array)
//   → null | [kind, der: Uint8Array, trailingBytes, detail, publicExponent: Uint8Array|undefined]
// null: not a key of that form or of a kind WebCrypto cannot use. kind: "RSA", "EC", "Ed25519",
// "X25519". `der` is the key re-encoded (PKCS #8 or SPKI); `trailingBytes` how many input bytes
// followed the key; `detail` the modulus length in bits (RSA) or curve name (EC), else undefined.
void KeyParse(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  auto format = StringArg(info, 0, "format");
  if (!format) return;
  auto der = BytesArg(info, 1, "der");
  if (!der) return;
  if (*format != "spki" && *format != "pkcs8") {
    js::ThrowTypeError(isolate, "keyParse: unknown format");
    return;
  }
  bool is_private = *format == "pkcs8";
  size_t consumed = 0;
  PkeyPtr key = is_private ? ParsePrivateKey(*der, &consumed) : ParsePublicKey(*der, &consumed);
  std::string kind = key ? KindOf(key.get()) : "";
  std::string encoded;
  if (!kind.empty())
    encoded = is_private ? EncodePrivateKey(key.get()) : EncodePublicKey(key.get());
  if (encoded.empty()) {
    info.GetReturnValue().SetNull();
    return;
  }
  v8::Local<v8::Value> detail = v8::Undefined(isolate);
  v8::Local<v8::Value> exponent = v8::Undefined(isolate);
  if (kind == "RSA") {
    detail = v8::Integer::New(isolate, EVP_PKEY_get_bits(key.get()));
    auto e = BnParam(key.get(), OSSL_PKEY_PARAM_RSA_E);
    if (e) exponent = NewUint8Array(isolate, *e);
  } else if (kind == "EC") {
    detail = js::FromUtf8(isolate, CurveName(key.get()));
  }
  info.GetReturnValue().Set(MakeArray(
      isolate,
      {js::FromUtf8(isolate, kind), NewUint8Array(isolate, encoded),
       v8::Number::New(isolate, static_cast<double>(der->size() - consumed)), detail, exponent}));
}

// keyFromRaw(kind: "EC"|"Ed25519"|"X25519", curve: string, bytes: Uint8Array) → spki | null
// A public key from its raw form: an X9.62 point (compressed or not) on `curve` for EC, 32 bytes
// for the others. null: not a valid key.
void KeyFromRaw(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  auto kind = StringArg(info, 0, "kind");
  if (!kind) return;
  auto curve = StringArg(info, 1, "curve");
  if (!curve) return;
  auto raw = BytesArg(info, 2, "raw");
  if (!raw) return;
  PkeyPtr key;
  if (*kind == "EC") {
    const char* group = GroupName(*curve);
    if (group == nullptr) {
      js::ThrowTypeError(isolate, "keyFromRaw: unknown curve");
      return;
    }
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    if (bld && !raw->empty() &&
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, raw->data(),
                                         raw->size()) == 1) {
      key = FromParams("EC", bld.get(), false);
      if (key && !EcKeyValid(key.get(), false)) key.reset();
    }
  } else if (*kind == "Ed25519" || *kind == "X25519") {
    if (raw->size() == 32) {
      key.reset(EVP_PKEY_new_raw_public_key(
          *kind == "Ed25519" ? EVP_PKEY_ED25519 : EVP_PKEY_X25519, nullptr,
          reinterpret_cast<const unsigned char*>(raw->data()), raw->size()));
    }
  } else {
    js::ThrowTypeError(isolate, "keyFromRaw: unknown kind");
    return;
  }
  ClearOpenSslErrors();
  std::string der = key ? EncodePublicKey(key.get()) : "";
  if (der.empty()) {
    info.GetReturnValue().SetNull();
    return;
  }
  info.GetReturnValue().Set(NewUint8Array(isolate, der));
}

// keyFromJwk(kind: "RSA"|"EC"|"Ed25519"|"X25519", curve: string, parts: Array) → der | null
// The key whose JWK members, base64url-decoded, are `parts` (undefined where absent): RSA
// [n, e, d, p, q, dp, dq, qi], EC [x, y, d], OKP [x, d]. A private key (d present) comes back as
// PKCS #8, a public one as SPKI. null: the members do not make a valid key.
void KeyFromJwk(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  auto kind = StringArg(info, 0, "kind");
  if (!kind) return;
  auto curve = StringArg(info, 1, "curve");
  if (!curve) return;
  auto parts = PartsArg(info, 2);
  if (!parts) return;
  parts->resize(8);
  PkeyPtr key;
  bool is_private = false;
  if (*kind == "RSA") {
    is_private = (*parts)[2].has_value();
    key = RsaFromComponents(*parts);
  } else if (*kind == "EC") {
    if (GroupName(*curve) == nullptr) {
      js::ThrowTypeError(isolate, "keyFromJwk: unknown curve");
      return;
    }
    is_private = (*parts)[2].has_value();
    if ((*parts)[0] && (*parts)[1]) {
      key = EcFromComponents(*curve, *(*parts)[0], *(*parts)[1],
                             is_private ? &*(*parts)[2] : nullptr);
    }
  } else if (*kind == "Ed25519" || *kind == "X25519") {
    int type = *kind == "Ed25519" ? EVP_PKEY_ED25519 : EVP_PKEY_X25519;
    is_private = (*parts)[1].has_value();
    const std::optional<std::string>& bytes = is_private ? (*parts)[1] : (*parts)[0];
    if (bytes && bytes->size() == 32) {
      const auto* data = reinterpret_cast<const unsigned char*>(bytes->data());
      key.reset(is_private ? EVP_PKEY_new_raw_private_key(type, nullptr, data, 32)
                           : EVP_PKEY_new_raw_public_key(type, nullptr, data, 32));
    }
  } else {
    js::ThrowTypeError(isolate, "keyFromJwk: unknown kind");
    return;
  }
  ClearOpenSslErrors();
  std::string der;
  if (key) der = is_private ? EncodePrivateKey(key.get()) : EncodePublicKey(key.get());
  if (der.empty()) {
    info.GetReturnValue().SetNull();
    return;
  }
  info.GetReturnValue().Set(NewUint8Array(isolate, der));
}

// keyExport(der: Uint8Array, isPrivate: boolean, format: "raw"|"jwk")
//   → raw: ArrayBuffer (public keys: the uncompressed EC point, or the 32 bytes of Ed25519 and
//     X25519); jwk: Array of Uint8Arrays, the members in keyFromJwk's order (private members only
//     for private keys; EC coordinates padded to the curve's size)
void KeyExport(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  auto der = BytesArg(info, 0, "der");
  if (!der) return;
  std::optional<bool> is_private_arg = BoolArg(info, 1, "isPrivate");
  if (!is_private_arg) return;
  const bool is_private = *is_private_arg;
  auto format = StringArg(info, 2, "format");
  if (!format) return;
  PkeyPtr key = is_private ? ParsePrivateKey(*der) : ParsePublicKey(*der);
  std::string kind = key ? KindOf(key.get()) : "";
  if (kind.empty() || (*format != "raw" && *format != "jwk") ||
      (*format == "raw" && (is_private || kind == "RSA"))) {
    js::ThrowTypeError(isolate, "keyExport: invalid key or format");
    return;
  }
  std::vector<std::optional<std::string>> parts;
  if (kind == "RSA") {
    parts.push_back(BnParam(key.get(), OSSL_PKEY_PARAM_RSA_N));
    parts.push_back(BnParam(key.get(), OSSL_PKEY_PARAM_RSA_E));
    if (is_private) {
      for (const char* name : {OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
                               OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
                               OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1}) {
        parts.push_back(BnParam(key.get(), name));
      }
    }
  } else if (kind == "EC") {
    size_t width = CoordinateBytes(CurveName(key.get()));
    if (*format == "raw") {
      std::string point(1 + 2 * width, '\0');
      size_t length = 0;
      if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                          reinterpret_cast<unsigned char*>(point.data()),
                                          point.size(), &length) != 1 ||
          length != point.size()) {
        ClearOpenSslErrors();
        js::ThrowError(isolate, "keyExport: no public point");
        return;
      }
      info.GetReturnValue().Set(NewArrayBuffer(isolate, point));
      return;
    }
    parts.push_back(BnParam(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, width));
    parts.push_back(BnParam(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, width));
    if (is_private) parts.push_back(BnParam(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, width));
  } else {
    std::string x(32, '\0');
    size_t length = x.size();
    if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(x.data()),
                                    &length) != 1) {
      ClearOpenSslErrors();
      js::ThrowError(isolate, "keyExport: no public key");
      return;
    }
    if (*format == "raw") {
      info.GetReturnValue().Set(NewArrayBuffer(isolate, x));
      return;
    }
    parts.push_back(x);
    if (is_private) {
      std::string d(32, '\0');
      length = d.size();
      if (EVP_PKEY_get_raw_private_key(key.get(), reinterpret_cast<unsigned char*>(d.data()),
                                       &length) == 1) {
        parts.push_back(d);
      } else {
        parts.emplace_back();
      }
    }
  }
  ClearOpenSslErrors();
  std::vector<v8::Local<v8::Value>> values;
  for (const auto& part : parts) {
    if (!part) {
      js::ThrowError(isolate, "keyExport: a key member is missing");
      return;
    }
    values.push_back(NewUint8Array(isolate, *part));
  }
  info.GetReturnValue().Set(MakeArray(isolate, std::move(values)));
}

}  // namespace dorm::runtime::crypto
