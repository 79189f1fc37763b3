// Naming rules for deployed classes and apps. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dorm {

// "ChatRoom" -> "chat-room", "HTTPServer" -> "http-server", "Counter2" -> "counter2".
std::string KebabFromPascal(std::string_view class_name);

// True for 1 to 63 characters of [a-z0-9-], starting with a letter, not ending with '-', with no
// "--". Used for class URL names and app names alike.
bool IsValidKebabName(std::string_view name);

// "chat-room" -> "CHAT_ROOM": the env binding name a class reserves.
std::string BindingNameFromKebab(std::string_view kebab);

// Decodes %XX escapes. Returns nullopt for a malformed escape. '+' stays '+'.
std::optional<std::string> PercentDecode(std::string_view text);

// True for a JavaScript identifier as Wrangler accepts for class, binding and export names: ASCII
// letters, digits, '_' and '$', not starting with a digit, 1 to 128 characters.
bool IsIdentifier(std::string_view name);

// True for an env var key: ^[A-Z_][A-Z0-9_]*$, at most 256 characters.
bool IsValidEnvKey(std::string_view key);

// Escapes every byte but [A-Za-z0-9-._~] as %XX, so that any text is one URL path segment.
std::string PercentEncodeSegment(std::string_view text);

}  // namespace dorm
