// Secret-key natives: HMAC, AES-GCM/CBC/CTR and AES-KW (RFC 3394). See crypto_subtle.h.
#include <openssl/err.h>

#include <cstring>

#include "js/strings.h"
#include "runtime/crypto_subtle.h"
#include "runtime/hmac_contexts.h"

namespace dorm::runtime::crypto {

namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// The AES ciphers of OpenSSL's default provider, fetched once for the process. The ciphers that
// EVP_aes_128_gcm() and the like return are fetched again by OpenSSL 3 every time a context is
// initialised with them (a name lookup under a lock, with allocations): a large share of one
// short operation. A fetched cipher is immutable and shared by every thread; these live as long
// as the process. A name the provider lacks stays null, and the legacy cipher is used instead.
struct AesCipherTable {
  // [mode: GCM, CBC, CTR, KW][key size: 128, 192, 256 bits]
  const EVP_CIPHER* fetched[4][3] = {};

  AesCipherTable() {
    static const char* const kNames[4][3] = {
        {"AES-128-GCM", "AES-192-GCM", "AES-256-GCM"},
        {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"},
        {"AES-128-CTR", "AES-192-CTR", "AES-256-CTR"},
        {"AES-128-WRAP", "AES-192-WRAP", "AES-256-WRAP"},
    };
    for (int mode = 0; mode < 4; ++mode) {
      for (int size = 0; size < 3; ++size) {
        fetched[mode][size] = EVP_CIPHER_fetch(nullptr, kNames[mode][size], nullptr);
      }
    }
    // A failed fetch leaves an error on this thread's queue.
    ERR_clear_error();
  }
};

const EVP_CIPHER* AesCipher(std::string_view mode, size_t key_bytes) {
  static const AesCipherTable table;  // thread-safe initialisation
  int size = key_bytes == 16 ? 0 : key_bytes == 24 ? 1 : key_bytes == 32 ? 2 : -1;
  if (size < 0) return nullptr;
  static const EVP_CIPHER* (*const kLegacy[4][3])() = {
      {EVP_aes_128_gcm, EVP_aes_192_gcm, EVP_aes_256_gcm},
      {EVP_aes_128_cbc, EVP_aes_192_cbc, EVP_aes_256_cbc},
      {EVP_aes_128_ctr, EVP_aes_192_ctr, EVP_aes_256_ctr},
      {EVP_aes_128_wrap, EVP_aes_192_wrap, EVP_aes_256_wrap},
  };
  int index = mode == "AES-GCM"   ? 0
              : mode == "AES-CBC" ? 1
              : mode == "AES-CTR" ? 2
              : mode == "AES-KW"  ? 3
                                  : -1;
  if (index < 0) return nullptr;
  const EVP_CIPHER* fetched = table.fetched[index][size];
  return fetched != nullptr ? fetched : kLegacy[index][size]();
}

// One pass of `cipher` over `in` into `out` (same length plus at most a block). Returns the bytes
// written, or -1 when the final step fails (bad padding, GCM tag mismatch).
int RunCipher(EVP_CIPHER_CTX* ctx, std::string_view in, std::string* out) {
  size_t start = out->size();
  out->resize(start + in.size() + 16);
  int written = 0;
  int final_written = 0;
  auto* dest = UnsignedBytes(*out) + start;
  if (!in.empty() &&
      EVP_CipherUpdate(ctx, dest, &written, reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size())) != 1) {
    return -1;
  }
  if (EVP_CipherFinal_ex(ctx, dest + written, &final_written) != 1) return -1;
  out->resize(start + static_cast<size_t>(written + final_written));
  return written + final_written;
}

// AES-GCM. `bits` is the tag length. Decryption expects the tag after the ciphertext.
bool Gcm(const EVP_CIPHER* cipher, bool encrypt, const std::string& key, const std::string& iv,
         std::string_view data, const std::string& aad, int bits, std::string* out) {
  size_t tag_bytes = static_cast<size_t>(bits) / 8;
  std::string tag;
  if (!encrypt) {
    if (data.size() < tag_bytes) return false;
    tag = std::string(data.substr(data.size() - tag_bytes));
    data.remove_suffix(tag_bytes);
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_CipherInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr, encrypt) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()),
                          nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, UnsignedBytes(key), UnsignedBytes(iv),
                        encrypt) != 1) {
    return false;
  }
  int ignored = 0;
  if (!aad.empty() && EVP_CipherUpdate(ctx.get(), nullptr, &ignored, UnsignedBytes(aad),
                                       static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes),
                                      tag.data()) != 1) {
    return false;
  }
  if (RunCipher(ctx.get(), data, out) < 0) return false;
  if (encrypt) {
    std::string computed(16, '\0');
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, computed.data()) != 1) {
      return false;
    }
    out->append(computed, 0, tag_bytes);
  }
  return true;
}

bool Cbc(const EVP_CIPHER* cipher, bool encrypt, const std::string& key, const std::string& iv,
         const std::string& data, std::string* out) {
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_CipherInit_ex(ctx.get(), cipher, nullptr, UnsignedBytes(key), UnsignedBytes(iv),
                                encrypt) != 1) {
    return false;
  }
  return RunCipher(ctx.get(), data, out) >= 0;
}

// AES-CTR where only the low `bits` bits of the counter block count (SP 800-38A, B.2): they wrap
// to zero without carrying into the rest of the block, which OpenSSL's CTR mode would do. The
// input is cut where the counter wraps, and each piece runs with its own starting block. Returns
// false when the counter would repeat (more blocks than 2^bits), which the prelude reports.
bool Ctr(const EVP_CIPHER* cipher, const std::string& key, const std::string& counter, int bits,
         const std::string& data, std::string* out) {
  using u128 = unsigned __int128;
  u128 block_value = 0;
  for (unsigned char c : counter) block_value = (block_value << 8) | c;
  const u128 mask = bits == 128 ? ~u128{0} : ((u128{1} << bits) - 1);
  const u128 blocks = (static_cast<u128>(data.size()) + 15) / 16;
  if (bits < 128 && blocks > (u128{1} << bits)) return false;
  u128 low = block_value & mask;
  const u128 high = block_value & ~mask;
  size_t offset = 0;
  while (offset < data.size()) {
    // Blocks before the low bits wrap (the whole range when they cannot wrap within the input).
    u128 until_wrap = bits == 128 ? blocks : (mask - low) + 1;
    size_t take = data.size() - offset;
    if (until_wrap < blocks && until_wrap * 16 < take) take = static_cast<size_t>(until_wrap * 16);
    unsigned char iv[16];
    u128 start = high | low;
    for (int i = 15; i >= 0; --i) {
      iv[i] = static_cast<unsigned char>(start & 0xff);
      start >>= 8;
    }
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx || EVP_CipherInit_ex(ctx.get(), cipher, nullptr, UnsignedBytes(key), iv, 1) != 1) {
      return false;
    }
    if (RunCipher(ctx.get(), data.substr(offset, take), out) < 0) return false;
    offset += take;
    low = 0;  // the next piece starts where the low bits wrapped
  }
  return true;
}

}  // namespace

// hmac(hash, key: Uint8Array, data: Uint8Array) → ArrayBuffer
void Hmac(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  const EVP_MD* md = DigestArg(info, 0, /*allow_md5=*/true);
  if (md == nullptr) return;
  auto key = BytesArg(info, 1, "key");
  if (!key) return;
  auto data = BytesArg(info, 2, "data");
  if (!data) return;
  unsigned char out[EVP_MAX_MD_SIZE];
  const size_t length = ComputeHmac(isolate, md, *key, *data, out);
  if (length == 0) {
    js::ThrowError(isolate, "HMAC failed");
    return;
  }
  info.GetReturnValue().Set(
      NewArrayBuffer(isolate, std::string_view(reinterpret_cast<char*>(out), length)));
}

// aesCrypt(mode: "AES-GCM"|"AES-CBC"|"AES-CTR", encrypt: boolean, key, iv, data, aad, bits)
//   → ArrayBuffer | null
// `iv` is the GCM nonce (non-empty), the CBC IV (16 bytes) or the CTR counter block (16 bytes);
// `aad` is GCM's additional data (undefined: none); `bits` the GCM tag length (32, 64, 96..128 by
// 8) or the CTR counter length (1..128), ignored for CBC. null: decryption failed (tag or
// padding), or the CTR counter would repeat.
void AesCrypt(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  auto mode = StringArg(info, 0, "mode");
  if (!mode) return;
  std::optional<bool> encrypt_arg = BoolArg(info, 1, "encrypt");
  if (!encrypt_arg) return;
  const bool encrypt = *encrypt_arg;
  auto key = BytesArg(info, 2, "key");
  if (!key) return;
  auto iv = BytesArg(info, 3, "iv");
  if (!iv) return;
  auto data = BytesArg(info, 4, "data");
  if (!data) return;
  auto aad = BytesArg(info, 5, "additionalData", /*optional=*/true);
  if (!aad) return;
  auto bits = IntegerArg(info, 6, 0, 128, "bits");
  if (!bits) return;
  const EVP_CIPHER* cipher = *mode == "AES-KW" ? nullptr : AesCipher(*mode, key->size());
  if (cipher == nullptr) {
    js::ThrowTypeError(isolate, "aesCrypt: unknown mode or key size");
    return;
  }
  bool valid_params = *mode == "AES-GCM"
                          ? !iv->empty() && (*bits == 32 || *bits == 64 ||
                                             (*bits >= 96 && *bits <= 128 && *bits % 8 == 0))
                          : iv->size() == 16 && (*mode != "AES-CTR" || *bits >= 1);
  if (!valid_params) {
    js::ThrowTypeError(isolate, "aesCrypt: invalid iv or bit length");
    return;
  }
  std::string out;
  out.reserve(data->size() + 16);
  bool ok = *mode == "AES-GCM"   ? Gcm(cipher, encrypt, *key, *iv, *data, *aad, *bits, &out)
            : *mode == "AES-CBC" ? Cbc(cipher, encrypt, *key, *iv, *data, &out)
                                 : Ctr(cipher, *key, *iv, static_cast<int>(*bits), *data, &out);
  // Only a failure leaves errors to clear (emptying the queue costs as much as a short cipher).
  if (!ok || ERR_peek_error() != 0) ClearOpenSslErrors();
  ReturnBytesOrNull(info, ok, out);
}

// aesKeyWrap(wrap: boolean, key, data) → ArrayBuffer | null
// RFC 3394 with the default IV. `data` must be a multiple of 8 bytes, at least 16 to wrap and 24
// to unwrap (checked by the prelude, again here: null). null: the integrity check failed.
void AesKeyWrap(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  std::optional<bool> wrap_arg = BoolArg(info, 0, "wrap");
  if (!wrap_arg) return;
  const bool wrap = *wrap_arg;
  auto key = BytesArg(info, 1, "key");
  if (!key) return;
  auto data = BytesArg(info, 2, "data");
  if (!data) return;
  const EVP_CIPHER* cipher = AesCipher("AES-KW", key->size());
  if (cipher == nullptr) {
    js::ThrowTypeError(isolate, "aesKeyWrap: invalid key size");
    return;
  }
  if (data->size() % 8 != 0 || data->size() < (wrap ? 16u : 24u)) {
    info.GetReturnValue().SetNull();
    return;
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string out;
  bool ok = false;
  if (ctx) {
    EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    ok = EVP_CipherInit_ex(ctx.get(), cipher, nullptr, UnsignedBytes(*key), nullptr, wrap) == 1 &&
         RunCipher(ctx.get(), *data, &out) >= 0;
  }
  ClearOpenSslErrors();
  ReturnBytesOrNull(info, ok, out);
}

}  // namespace dorm::runtime::crypto
