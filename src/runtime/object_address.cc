#include "runtime/object_address.h"

namespace dorm::runtime {

std::string ObjectKey(std::string_view app, std::string_view class_name,
                      std::string_view object_id) {
  std::string key;
  key.reserve(app.size() + class_name.size() + object_id.size() + 2);
  key.append(app).append(1, '\n').append(class_name).append(1, '\n').append(object_id);
  return key;
}

std::string AppKeyPrefix(std::string_view app) { return std::string(app) + '\n'; }

std::string ClassKeyPrefix(std::string_view app, std::string_view class_name) {
  return AppKeyPrefix(app) + std::string(class_name) + '\n';
}

std::optional<ObjectAddress> ParseObjectKey(std::string_view key) {
  size_t first = key.find('\n');
  if (first == std::string_view::npos) return std::nullopt;
  size_t second = key.find('\n', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  ObjectAddress address;
  address.app = std::string(key.substr(0, first));
  address.class_name = std::string(key.substr(first + 1, second - first - 1));
  address.object_id = std::string(key.substr(second + 1));
  return address;
}

std::string ClassStoragePath(const std::string& data_dir, const std::string& app,
                             const std::string& class_name) {
  return data_dir + "/objects/" + app + "/" + class_name;
}

std::string ObjectDatabasePath(const std::string& data_dir, const ObjectAddress& a) {
  // Two hex digits of fan-out keep folders small with millions of objects.
  return ClassStoragePath(data_dir, a.app, a.class_name) + "/" + a.object_id.substr(0, 2) + "/" +
         a.object_id + ".sqlite";
}

std::string LogTag(const ObjectAddress& address) {
  return "[" + address.app + "/" + address.class_name + "/" + InstanceLabel(address) + "]";
}

}  // namespace dorm::runtime
