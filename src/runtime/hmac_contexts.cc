#include "runtime/hmac_contexts.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>

#include <memory>
#include <string>
#include <vector>

namespace dorm::runtime {
namespace {

struct MacContextFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

struct KeyedContext {
  const void* owner = nullptr;
  const EVP_MD* md = nullptr;
  std::string key;
  std::unique_ptr<EVP_MAC_CTX, MacContextFree> ctx;

  KeyedContext() = default;
  KeyedContext(KeyedContext&&) = default;
  KeyedContext& operator=(KeyedContext&&) = default;
  ~KeyedContext() {
    if (!key.empty()) OPENSSL_cleanse(key.data(), key.size());
  }
};

// The HMAC implementation, fetched once for the process (fetching takes locks and a lookup).
EVP_MAC* HmacImplementation() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

// A new context for `md` keyed with `key`; null when OpenSSL refuses.
std::unique_ptr<EVP_MAC_CTX, MacContextFree> NewKeyedContext(const EVP_MD* md,
                                                             std::string_view key) {
  EVP_MAC* mac = HmacImplementation();
  if (mac == nullptr) return nullptr;
  std::unique_ptr<EVP_MAC_CTX, MacContextFree> ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return nullptr;
  const char* name = EVP_MD_get0_name(md);
  if (name == nullptr) return nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(name), 0),
      OSSL_PARAM_construct_end()};
  // An empty key is a valid HMAC key; OpenSSL wants a non-null pointer for it.
  static const unsigned char kEmpty = 0;
  const auto* bytes = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(ctx.get(), bytes, key.size(), params) != 1) return nullptr;
  return ctx;
}

}  // namespace

size_t ComputeHmac(const void* owner, const EVP_MD* md, std::string_view key, std::string_view data,
                   unsigned char* out) {
  thread_local std::vector<KeyedContext> contexts;  // most recently used first
  size_t found = contexts.size();
  for (size_t i = 0; i < contexts.size(); ++i) {
    const KeyedContext& c = contexts[i];
    if (c.owner == owner && c.md == md && c.key == key) {
      found = i;
      break;
    }
  }
  bool fresh = false;
  if (found == contexts.size()) {
    KeyedContext entry;
    entry.ctx = NewKeyedContext(md, key);
    if (!entry.ctx) {
      ERR_clear_error();
      return 0;
    }
    entry.owner = owner;
    entry.md = md;
    entry.key.assign(key);
    if (contexts.size() == kHmacContextsPerThread) contexts.pop_back();
    contexts.insert(contexts.begin(), std::move(entry));
    fresh = true;
  } else if (found != 0) {
    KeyedContext entry = std::move(contexts[found]);
    contexts.erase(contexts.begin() + static_cast<std::ptrdiff_t>(found));
    contexts.insert(contexts.begin(), std::move(entry));
  }
  EVP_MAC_CTX* ctx = contexts.front().ctx.get();
  size_t length = 0;
  // A context used before restarts from its key's pads; a fresh one was just initialised.
  bool ok =
      (fresh || EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1) &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
      EVP_MAC_final(ctx, out, &length, EVP_MAX_MD_SIZE) == 1;
  if (!ok) {
    ERR_clear_error();
    // The context's state is unknown: it is not kept.
    contexts.erase(contexts.begin());
    return 0;
  }
  return length;
}

}  // namespace dorm::runtime
