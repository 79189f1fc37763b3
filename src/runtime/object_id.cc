#include "runtime/object_id.h"

#include "util/crypto.h"

namespace dorm::runtime {

std::string NamespaceKey(std::string_view app, std::string_view class_name) {
  std::string key(app);
  key += '/';
  key += class_name;
  return key;
}

std::string ObjectIdFromName(std::string_view namespace_key, std::string_view name) {
  Sha256Digest key = Sha256(namespace_key);
  std::string_view key_view(reinterpret_cast<const char*>(key.data()), key.size());
  Sha256Digest first = HmacSha256(key_view, name);
  std::string bytes(reinterpret_cast<const char*>(first.data()), 16);
  Sha256Digest mac = HmacSha256(key_view, bytes);
  bytes.append(reinterpret_cast<const char*>(mac.data()), 16);
  return ToHex(bytes);
}

}  // namespace dorm::runtime
