// HMAC through OpenSSL 3's EVP_MAC, with each thread keeping its recently used keys' contexts.
//
// Why: the one-shot HMAC() fetches the MAC and digest implementations and derives the key's inner
// and outer pads on every call: 23,000 instructions for 64 bytes (callgrind), over a third of a
// crypto.subtle.sign() with HMAC. A context keyed once restarts from its pads
// (EVP_MAC_init(ctx, NULL, 0, NULL)) for each message.
//
// Threading: one cache per thread. Entries belong to an `owner` (the calling app's isolate, one per
// app and thread): one app's call never uses a context another app keyed, so how fast a call
// returns tells nothing of other apps' keys. At most kHmacContextsPerThread entries; the least
// recently used goes first, its key bytes wiped.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <string_view>

namespace dorm::runtime {

inline constexpr size_t kHmacContextsPerThread = 32;

// Writes HMAC(md, key, data) to `out` (room for EVP_MAX_MD_SIZE bytes); returns its length, or 0
// when OpenSSL failed (its error queue cleared). `md` is one of OpenSSL's built-in digests.
size_t ComputeHmac(const void* owner, const EVP_MD* md, std::string_view key, std::string_view data,
                   unsigned char* out);

}  // namespace dorm::runtime
