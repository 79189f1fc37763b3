// Hashes, MACs and randomness, from OpenSSL. Pure functions; thread-safe.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace dorm {

using Sha256Digest = std::array<unsigned char, 32>;

Sha256Digest Sha256(std::string_view data);
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// Lowercase hexadecimal of `bytes`.
std::string ToHex(std::string_view bytes);
std::string ToHex(const Sha256Digest& digest);

// `count` bytes from a cryptographically secure generator. Aborts if the generator fails.
std::string RandomBytes(size_t count);

// Compares in time independent of where the inputs differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace dorm
