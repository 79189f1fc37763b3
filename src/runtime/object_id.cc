#include "runtime/object_id.h"

#include <array>
#include <unordered_map>

#include "util/crypto.h"

namespace dorm::runtime {

std::string NamespaceKey(std::string_view app, std::string_view class_name) {
  if (size_t at = class_name.find('@'); at != std::string_view::npos) {
    app = class_name.substr(at + 1);
    class_name = class_name.substr(0, at);
  }
  std::string key(app);
  key += '/';
  key += class_name;
  return key;
}

std::string TransferredStorageName(std::string_view source_storage, std::string_view source_app) {
  std::string name(source_storage);
  if (name.find('@') == std::string::npos) name.append(1, '@').append(source_app);
  return name;
}

namespace {

// The id whose first half is `first16`: those bytes, then HMAC(key, them)[0..16).
std::string WithCheckHalf(std::string_view key_view, std::string bytes) {
  Sha256Digest mac = HmacSha256(key_view, bytes);
  bytes.append(reinterpret_cast<const char*>(mac.data()), 16);
  return ToHex(bytes);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string ObjectIdFromName(std::string_view namespace_key, std::string_view name) {
  Sha256Digest key = Sha256(namespace_key);
  std::string_view key_view(reinterpret_cast<const char*>(key.data()), key.size());
  Sha256Digest first = HmacSha256(key_view, name);
  return WithCheckHalf(key_view, std::string(reinterpret_cast<const char*>(first.data()), 16));
}

std::string NewUniqueObjectId(std::string_view namespace_key) {
  Sha256Digest key = Sha256(namespace_key);
  std::string_view key_view(reinterpret_cast<const char*>(key.data()), key.size());
  return WithCheckHalf(key_view, RandomBytes(16));
}

bool IsObjectIdSyntax(std::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (HexValue(c) < 0) return false;
  }
  return true;
}

bool ObjectIdBelongsTo(std::string_view namespace_key, std::string_view hex) {
  if (!IsObjectIdSyntax(hex)) return false;
  std::string bytes(16, '\0');
  for (size_t i = 0; i < 16; ++i) {
    bytes[i] = static_cast<char>(HexValue(hex[2 * i]) * 16 + HexValue(hex[2 * i + 1]));
  }
  Sha256Digest key = Sha256(namespace_key);
  std::string_view key_view(reinterpret_cast<const char*>(key.data()), key.size());
  std::string expected = WithCheckHalf(key_view, std::move(bytes));
  for (size_t i = 32; i < 64; ++i) {
    char c = hex[i];
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (c != expected[i]) return false;
  }
  return true;
}

std::string ObjectIdForName(std::string_view app, std::string_view class_name,
                            std::string_view name) {
  // Every request and every stub call names its object, and three SHA-256 computations through
  // OpenSSL cost several microseconds (more with threads contending for its algorithm store): the
  // ids of recently named objects are kept per thread. The key is unambiguous: app and class hold
  // no '\n'. An id is kept as its 32 bytes inside the map's node rather than as a 64-digit string
  // of its own, 80 bytes less per name: a full cache is about 0.5 MiB per thread, not 0.9.
  static constexpr size_t kCachedIds = 4096;
  using IdBytes = std::array<unsigned char, 32>;
  thread_local std::unordered_map<std::string, IdBytes> recent;
  std::string key;
  key.reserve(app.size() + class_name.size() + name.size() + 2);
  key.append(app).append(1, '\n').append(class_name).append(1, '\n').append(name);
  if (auto it = recent.find(key); it != recent.end()) {
    return ToHex(std::string_view(reinterpret_cast<const char*>(it->second.data()), 32));
  }
  std::string id = ObjectIdFromName(NamespaceKey(app, class_name), name);
  if (recent.size() >= kCachedIds) recent.clear();
  IdBytes bytes;
  for (size_t i = 0; i < 32; ++i) {  // lower-case hex digits (ToHex)
    bytes[i] = static_cast<unsigned char>(HexValue(id[2 * i]) * 16 + HexValue(id[2 * i + 1]));
  }
  recent.emplace(std::move(key), bytes);
  return id;
}

void CompleteAddress(ObjectAddress& address) {
  if (!address.object_id.empty()) return;
  address.object_id = ObjectIdForName(address.app, address.class_name, address.instance_name);
}

}  // namespace dorm::runtime
