// Base64 (RFC 4648 section 4) and base64url without padding (section 5, as JOSE uses it), on top
// of OpenSSL's block codec. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dorm {

// Standard alphabet, padded.
std::string Base64Encode(std::string_view bytes);
// Decodes standard, padded base64; nullopt for anything else (wrong characters, missing or
// misplaced padding, whitespace).
std::optional<std::string> Base64Decode(std::string_view text);

// URL-safe alphabet without padding (RFC 7515 section 2).
std::string Base64UrlEncode(std::string_view bytes);
// Decodes unpadded base64url; nullopt for padding, characters outside the URL-safe alphabet, or
// an impossible length.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace dorm
