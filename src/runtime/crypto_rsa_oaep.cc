// RSA-OAEP encryption and decryption (MGF1 with the label's hash). See crypto_subtle.h.
#include <openssl/crypto.h>
#include <openssl/rsa.h>

#include "js/strings.h"
#include "runtime/crypto_subtle.h"

namespace dorm::runtime::crypto {

// rsaOaep(encrypt: boolean, der: Uint8Array, hash, label: Uint8Array|undefined, data)
//   → ArrayBuffer | null
// Encrypts with a public key (SPKI) or decrypts with a private one (PKCS #8). null: the data is
// too long for the key, or does not decrypt.
void RsaOaep(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  std::optional<bool> encrypt_arg = BoolArg(info, 0, "encrypt");
  if (!encrypt_arg) return;
  const bool encrypt = *encrypt_arg;
  auto der = BytesArg(info, 1, "key");
  if (!der) return;
  PkeyPtr key = encrypt ? ParsePublicKey(*der) : ParsePrivateKey(*der);
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    js::ThrowTypeError(isolate, "rsaOaep: not an RSA key");
    return;
  }
  const EVP_MD* md = DigestArg(info, 2);
  if (md == nullptr) return;
  auto label = BytesArg(info, 3, "label", /*optional=*/true);
  if (!label) return;
  auto data = BytesArg(info, 4, "data");
  if (!data) return;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  bool ok = ctx &&
            (encrypt ? EVP_PKEY_encrypt_init(ctx.get()) : EVP_PKEY_decrypt_init(ctx.get())) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
            EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) == 1 &&
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) == 1;
  if (ok && !label->empty()) {
    // The context takes ownership of the copy.
    void* copy = OPENSSL_memdup(label->data(), label->size());
    ok = copy != nullptr &&
         EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), copy, static_cast<int>(label->size())) == 1;
    if (!ok) OPENSSL_free(copy);
  }
  const auto* in = reinterpret_cast<const unsigned char*>(data->data());
  size_t length = 0;
  std::string out;
  if (ok) {
    ok = (encrypt ? EVP_PKEY_encrypt(ctx.get(), nullptr, &length, in, data->size())
                  : EVP_PKEY_decrypt(ctx.get(), nullptr, &length, in, data->size())) == 1;
  }
  if (ok) {
    out.resize(length);
    auto* dest = reinterpret_cast<unsigned char*>(out.data());
    ok = (encrypt ? EVP_PKEY_encrypt(ctx.get(), dest, &length, in, data->size())
                  : EVP_PKEY_decrypt(ctx.get(), dest, &length, in, data->size())) == 1;
    out.resize(length);
  }
  ClearOpenSslErrors();
  ReturnBytesOrNull(info, ok, out);
}

}  // namespace dorm::runtime::crypto
