// ECDH and X25519 shared secrets. See crypto_subtle.h.
#include "js/strings.h"
#include "runtime/crypto_subtle.h"

namespace dorm::runtime::crypto {

// deriveSharedSecret(pkcs8: Uint8Array, spki: Uint8Array) → ArrayBuffer | null
// The raw shared secret (ECDH: the x coordinate, as long as the field; X25519: 32 bytes) of a
// private key and a peer's public key of the same kind (and curve). The keys' kinds must match
// (checked by the prelude; a mismatch here is a TypeError). null: no secret (e.g. a small-order
// X25519 point, whose secret is all zeros).
void DeriveSharedSecret(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  auto private_der = BytesArg(info, 0, "privateKey");
  if (!private_der) return;
  auto public_der = BytesArg(info, 1, "publicKey");
  if (!public_der) return;
  PkeyPtr own = ParsePrivateKey(*private_der);
  PkeyPtr peer = ParsePublicKey(*public_der);
  int type = own ? EVP_PKEY_get_base_id(own.get()) : EVP_PKEY_NONE;
  if (!own || !peer || type != EVP_PKEY_get_base_id(peer.get()) ||
      (type != EVP_PKEY_EC && type != EVP_PKEY_X25519) ||
      (type == EVP_PKEY_EC && CurveName(own.get()) != CurveName(peer.get()))) {
    js::ThrowTypeError(isolate, "deriveSharedSecret: keys do not match");
    return;
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(own.get(), nullptr));
  size_t length = 0;
  std::string secret;
  bool ok = ctx && EVP_PKEY_derive_init(ctx.get()) == 1 &&
            EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) == 1 &&
            EVP_PKEY_derive(ctx.get(), nullptr, &length) == 1;
  if (ok) {
    secret.resize(length);
    ok = EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &length) == 1;
    secret.resize(length);
  }
  if (ok && type == EVP_PKEY_X25519) {
    unsigned char any = 0;
    for (char c : secret) any |= static_cast<unsigned char>(c);
    ok = any != 0;
  }
  ClearOpenSslErrors();
  ReturnBytesOrNull(info, ok, secret);
}

}  // namespace dorm::runtime::crypto
