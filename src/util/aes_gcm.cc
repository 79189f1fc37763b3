#include "util/aes_gcm.h"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

#include "util/crypto.h"

namespace dorm {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherContext NewContext() {
  CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx) throw std::runtime_error("AES-256-GCM: cannot allocate a cipher context");
  return ctx;
}

void CheckKey(std::string_view key) {
  if (key.size() != kAes256GcmKeyBytes) {
    throw std::invalid_argument("AES-256-GCM needs a 32-byte key");
  }
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string SealAes256Gcm(std::string_view key, std::string_view plaintext,
                          std::string_view associated) {
  CheckKey(key);
  std::string nonce = RandomBytes(kNonceBytes);
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  out.replace(0, kNonceBytes, nonce);
  auto* cipher_out = reinterpret_cast<unsigned char*>(out.data() + kNonceBytes);
  CipherContext ctx = NewContext();
  int len = 0;
  bool ok =
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(associated),
                        static_cast<int>(associated.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), cipher_out, &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), cipher_out + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          cipher_out + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

std::optional<std::string> OpenAes256Gcm(std::string_view key, std::string_view sealed,
                                         std::string_view associated) {
  CheckKey(key);
  if (sealed.size() < kNonceBytes + kTagBytes) return std::nullopt;
  std::string_view nonce = sealed.substr(0, kNonceBytes);
  std::string_view ciphertext = sealed.substr(kNonceBytes, sealed.size() - kNonceBytes - kTagBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));
  std::string plaintext(ciphertext.size(), '\0');
  auto* plain_out = reinterpret_cast<unsigned char*>(plaintext.data());
  CipherContext ctx = NewContext();
  int len = 0;
  bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(associated),
                        static_cast<int>(associated.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), plain_out, &len, Bytes(ciphertext),
                        static_cast<int>(ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), plain_out + len, &len) == 1;
  if (!ok) return std::nullopt;
  return plaintext;
}

}  // namespace dorm
