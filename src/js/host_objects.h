// Host objects: instances of the Web API classes that workerd implements natively (Blob, File,
// CryptoKey), made from an object template with internal fields so that structured clone treats
// them as workerd does. V8 10.2's serializer hands an object to the embedder's delegate only if
// it is an API object with internal fields; any other object, whatever its class, is written as
// a plain object (a CryptoKey would be stored as `{}`).
//
// Field 0 holds the kind. A kBlob object holds its bytes (a Uint8Array) in field 1 and its type
// (a string) in field 2, set once at creation: a Blob is immutable. A kUncloneable object holds
// its class name in field 1, for the DataCloneError ("Could not serialize object of type ...");
// a kRefused object holds the whole message of its DataCloneError in field 1 (workerd words some
// refusals otherwise: "AbortSignal serialization is not enabled."). A kCopied object (Headers,
// Request, Response, DOMException: classes that workerd copies by their contents) holds its class
// name in field 1; what is written for it comes from the host (CloneHooks::describe_copied).
//
// Wire format of a Blob in structured clone bytes (after V8's host object tag '\\'): the varint
// kind (1), the varint byte length of the type then its UTF-8 bytes, the varint byte length of
// the contents then the contents. A kCopied object: the varint kind (3), then one nested value
// (V8's own encoding, object ids shared with the enclosing value) that the host reads back into
// the object (CloneHooks::revive_copied). js/clone_bytes_check.cc walks exactly this.
//
// Must be called with the isolate and a context entered.
#pragma once

#include <v8.h>

namespace dorm::js {

enum class HostObjectKind : int32_t { kUncloneable = 0, kBlob = 1, kRefused = 2, kCopied = 3 };
inline constexpr int kHostObjectFields = 3;

// The template every host object of an isolate is made from.
v8::Local<v8::ObjectTemplate> NewHostObjectTemplate(v8::Isolate* isolate);

// A new host object with prototype `prototype`. For kBlob, `first` is the Uint8Array and `second`
// the type; for kUncloneable and kCopied, `first` is the class name, for kRefused the message;
// `second` is then ignored. Returns an empty
// handle, with a TypeError thrown, when the arguments do not have those types.
v8::MaybeLocal<v8::Object> NewHostObject(v8::Local<v8::Context> context,
                                         v8::Local<v8::ObjectTemplate> object_template,
                                         v8::Local<v8::Value> prototype, HostObjectKind kind,
                                         v8::Local<v8::Value> first, v8::Local<v8::Value> second);

// A copy of `exemplar`, a host object of kind kUncloneable, kRefused or kCopied with no own
// properties: the copy shares its map, hence its prototype, and its fields (kind, name). This is
// what makes a host object cheap: NewHostObject's SetPrototype looks up (or makes) a prototype
// transition and migrates the object each time, and each field written costs as much as the copy.
// The caller keeps `exemplar` out of reach of user code, which could otherwise give it own
// properties that every copy would inherit. Host objects are the only objects with
// kHostObjectFields internal fields (the natives' handles, which hold pointers, have two), so no
// handle is ever copied. Returns an empty handle, with a TypeError thrown, when `exemplar` is not
// such a host object.
v8::MaybeLocal<v8::Object> CopyHostObject(v8::Local<v8::Context> context,
                                          v8::Local<v8::Value> exemplar);

}  // namespace dorm::js
