// Which Durable Object an event is for, and the key that names it inside the server.
//
// V8-free and I/O-free: the network front, the alarm scheduler, the placement of objects on
// threads and the runtime all name an object by the same key, built here and nowhere else.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dorm::runtime {

struct ObjectAddress {
  std::string app;
  std::string class_name;  // kebab-case URL name
  // The name the object was reached by (a URL's instance id, idFromName(), getByName()); empty
  // for an object reached by id alone (newUniqueId(), idFromString()). Shown as ctx.id.name and in
  // logs; it does not identify the object: object_id does.
  std::string instance_name;
  std::string object_id;  // 64 hex digits; empty until derived (see CompleteAddress)
};

// The object's key: app, class and object id joined by '\n'. App and class names never hold a
// '\n' (they are validated names) and the id is hex, so the key is unique and can be split again.
// Keyed by id, not by name, so that an object reached by name and by the same id rebuilt with
// idFromString() is one object.
std::string ObjectKey(std::string_view app, std::string_view class_name,
                      std::string_view object_id);
// Requires address.object_id (see CompleteAddress in object_id.h).
inline std::string ObjectKey(const ObjectAddress& address) {
  return ObjectKey(address.app, address.class_name, address.object_id);
}

// What logs and the usage meters call the object: its name, or its id when it has none.
inline const std::string& InstanceLabel(const ObjectAddress& address) {
  return address.instance_name.empty() ? address.object_id : address.instance_name;
}

// The start of the keys of every object of an app, or of one class of it.
std::string AppKeyPrefix(std::string_view app);
// Where an object's database lives under the data folder.
std::string ObjectDatabasePath(const std::string& data_dir, const ObjectAddress& address);
// The folder holding every object database of one class.
std::string ClassStoragePath(const std::string& data_dir, const std::string& app,
                             const std::string& class_name);
// How logs name the object: "[app/class/instance]".
std::string LogTag(const ObjectAddress& address);
std::string ClassKeyPrefix(std::string_view app, std::string_view class_name);

// The address a key names (app, class and object_id; no instance name), or nullopt if `key` is not
// one ObjectKey makes.
std::optional<ObjectAddress> ParseObjectKey(std::string_view key);

}  // namespace dorm::runtime
