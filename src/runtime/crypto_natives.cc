// The natives behind js/prelude/crypto.js: crypto.getRandomValues, randomUUID, subtle.digest, and
// the WebCrypto operations of crypto_subtle.h. Contracts: docs/contracts.md.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "js/array_buffers.h"
#include "js/strings.h"
#include "runtime/crypto_subtle.h"
#include "runtime/native_module.h"
#include "util/crypto.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

class CryptoCallbacks {
 public:
  // --- Crypto ---
  static void GetRandomValues(const FunctionCallbackInfo<Value>& info) {
    if (!info[0]->IsArrayBufferView()) {
      js::ThrowTypeError(info.GetIsolate(), "getRandomValues(view)");
      return;
    }
    Local<v8::ArrayBufferView> view = info[0].As<v8::ArrayBufferView>();
    auto* data =
        static_cast<unsigned char*>(view->Buffer()->GetBackingStore()->Data()) + view->ByteOffset();
    if (view->ByteLength() > 0) RAND_bytes(data, static_cast<int>(view->ByteLength()));
    info.GetReturnValue().Set(info[0]);
  }

  static void RandomUuid(const FunctionCallbackInfo<Value>& info) {
    std::string b = RandomBytes(16);
    b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
    std::string hex = ToHex(b);
    std::string uuid = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
                       hex.substr(16, 4) + "-" + hex.substr(20);
    info.GetReturnValue().Set(js::FromUtf8(info.GetIsolate(), uuid));
  }

  static void Digest(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    std::string name;
    js::StringToUtf8(isolate, info[0], &name);
    const EVP_MD* md = name == "SHA-1"     ? EVP_sha1()
                       : name == "SHA-256" ? EVP_sha256()
                       : name == "SHA-384" ? EVP_sha384()
                       : name == "SHA-512" ? EVP_sha512()
                       : name == "MD5"     ? EVP_md5()
                                           : nullptr;
    if (!md || !info[1]->IsArrayBufferView()) {
      js::ThrowTypeError(isolate, "Unrecognized name.");
      return;
    }
    // Hashed in place: the view may cover a large input of the caller's (js/prelude/subtle.js).
    Local<v8::ArrayBufferView> view = info[1].As<v8::ArrayBufferView>();
    const size_t size = view->ByteLength();  // 0 once detached
    const unsigned char* data = nullptr;
    std::shared_ptr<v8::BackingStore> store;
    if (size > 0) {
      store = view->Buffer()->GetBackingStore();
      const size_t offset = view->ByteOffset();
      if (offset > store->ByteLength() || size > store->ByteLength() - offset) {
        js::ThrowTypeError(isolate, "digest(name, view): the view is out of its buffer's bounds");
        return;
      }
      data = static_cast<const unsigned char*>(store->Data()) + offset;
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data, size, out, &length, md, nullptr);
    Local<v8::ArrayBuffer> buffer;
    if (js::NewArrayBufferCopy(isolate,
                               std::string_view(reinterpret_cast<const char*>(out), length))
            .ToLocal(&buffer)) {
      info.GetReturnValue().Set(buffer);
    }
  }
};

}  // namespace

std::span<const NativeFunction> CryptoNatives() {
  static const NativeFunction kFunctions[] = {
      {"getRandomValues", &CryptoCallbacks::GetRandomValues},
      {"randomUUID", &CryptoCallbacks::RandomUuid},
      {"digest", &CryptoCallbacks::Digest},
      {"hmac", &crypto::Hmac},
      {"aesCrypt", &crypto::AesCrypt},
      {"aesKeyWrap", &crypto::AesKeyWrap},
      {"pbkdf2", &crypto::Pbkdf2},
      {"hkdf", &crypto::Hkdf},
      {"keyGenerate", &crypto::KeyGenerate},
      {"keyParse", &crypto::KeyParse},
      {"keyFromRaw", &crypto::KeyFromRaw},
      {"keyFromJwk", &crypto::KeyFromJwk},
      {"keyExport", &crypto::KeyExport},
      {"sign", &crypto::Sign},
      {"verify", &crypto::Verify},
      {"rsaOaep", &crypto::RsaOaep},
      {"deriveSharedSecret", &crypto::DeriveSharedSecret},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
