// Authenticated encryption with AES-256-GCM, from OpenSSL. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dorm {

inline constexpr size_t kAes256GcmKeyBytes = 32;

// Encrypts `plaintext` under `key` (kAes256GcmKeyBytes bytes) with a fresh random 96-bit nonce.
// `associated` is authenticated but not part of the result: the same bytes must be passed to
// OpenAes256Gcm. Returns nonce (12 bytes) || ciphertext || tag (16 bytes). Throws
// std::invalid_argument for a key of the wrong size and std::runtime_error if OpenSSL fails.
std::string SealAes256Gcm(std::string_view key, std::string_view plaintext,
                          std::string_view associated);

// The plaintext of a SealAes256Gcm result, or nullopt when `sealed` was not made with this key
// and associated data (wrong key, tampered or truncated bytes). Throws std::invalid_argument for a
// key of the wrong size.
std::optional<std::string> OpenAes256Gcm(std::string_view key, std::string_view sealed,
                                         std::string_view associated);

}  // namespace dorm
