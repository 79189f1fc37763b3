// Object ids: 32 bytes, shown as 64 lowercase hex digits, derived from an instance name the way
// idFromName() derives them (HMAC-SHA-256 keyed per class). Pure.
#pragma once

#include <string>
#include <string_view>

#include "runtime/object_address.h"

namespace dorm::runtime {

// The key that makes ids of one class distinct from every other class's: "<app>/<class-name>".
// A class transferred from another app (TransferredStorageName) keeps the key of the class it was
// created as, so its objects keep their ids: "<origin-app>/<origin-class>".
std::string NamespaceKey(std::string_view app, std::string_view class_name);

// The storage name (DeployedClass::name) of a class that a `transferred_classes` migration moves
// from `source_app`, where it was stored as `source_storage`: "<source_storage>@<source_app>", or
// `source_storage` itself when it was already transferred before (it then still names its
// origin). Kebab-case names hold no '@', so the name can never be a class's own and always tells
// where its ids come from.
std::string TransferredStorageName(std::string_view source_storage, std::string_view source_app);

// bytes[0..16) = HMAC(SHA256(namespace_key), name)[0..16);
// bytes[16..32) = HMAC(SHA256(namespace_key), bytes[0..16))[0..16): the second half lets an id
// be checked as belonging to its namespace.
std::string ObjectIdFromName(std::string_view namespace_key, std::string_view name);

// A new id of the namespace (newUniqueId()): 16 random bytes and the same check half.
std::string NewUniqueObjectId(std::string_view namespace_key);

// Whether `hex` is 64 hex digits (either case), and whether its check half belongs to the
// namespace: idFromString() throws "Invalid Durable Object ID: must be 64 hex digits" for the
// first, "Durable Object ID is not valid for this namespace." for the second.
bool IsObjectIdSyntax(std::string_view hex);
bool ObjectIdBelongsTo(std::string_view namespace_key, std::string_view hex);

// ObjectIdFromName(NamespaceKey(app, class_name), name), from a per-thread cache of the names
// derived last. Thread-safe (the cache is per thread).
std::string ObjectIdForName(std::string_view app, std::string_view class_name,
                            std::string_view name);

// Fills address.object_id from its instance name when it is empty. Call wherever an address
// enters the runtime, before ObjectKey().
void CompleteAddress(ObjectAddress& address);

}  // namespace dorm::runtime
