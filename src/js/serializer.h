// Structured clone (V8's ValueSerializer with header) for storage values, RPC messages and
// structuredClone(), with the host objects of js/host_objects.h. Must be called with the isolate
// and a context entered.
#pragma once

#include <v8.h>

#include <functional>
#include <optional>
#include <string>

namespace dorm::js {

// Makes the DOMException thrown for a value that cannot be cloned. Set once per context by the
// host (it comes from the prelude); without it a plain Error is thrown.
using DataCloneErrorFactory =
    std::function<v8::Local<v8::Value>(v8::Isolate*, v8::Local<v8::String> message)>;

// What the host adds to V8's structured clone. Any member may be empty: values that cannot be
// cloned then throw a plain Error, and cloned Blobs cannot be read back (an Error is thrown).
//
// V8 runs no JavaScript while it reads a value, so a Blob is read back in two steps: the reader
// makes a host object (js/host_objects.h) from `host_object_template` with `blob_prototype`,
// and once the whole value is read, `adopt_blob` gives each such object its state (the prelude's
// private fields), in the order they were read. `adopt_blob` returns false with a JS exception
// pending on failure.
struct CloneHooks {
  DataCloneErrorFactory make_error;
  std::function<v8::Local<v8::ObjectTemplate>(v8::Isolate*)> host_object_template;
  std::function<v8::Local<v8::Value>(v8::Isolate*)> blob_prototype;
  std::function<bool(v8::Isolate*, v8::Local<v8::Object> blob, v8::Local<v8::Uint8Array> bytes,
                     v8::Local<v8::String> type)>
      adopt_blob;
  // A host object of kind kCopied (js/host_objects.h) is written as the value `describe_copied`
  // returns for it (plain data: arrays, strings, numbers, the Request's `cf`), or refused with the
  // exception it throws (workerd refuses a Request or Response with a body). It runs JavaScript.
  std::function<v8::MaybeLocal<v8::Value>(v8::Isolate*, v8::Local<v8::Object> object)>
      describe_copied;
  // Such an object is read back in two steps, as a Blob is: the reader makes a host object of kind
  // kCopied (prototype Object.prototype) where it stands in the value, and once the whole value is
  // read, `revive_copied` makes it the object `description` describes (its prototype and private
  // state), in the order they were read. It runs the prelude's JavaScript, no user code; it
  // returns false with a JS exception pending on a description it does not recognise.
  std::function<bool(v8::Isolate*, v8::Local<v8::Object> object, v8::Local<v8::Value> description)>
      revive_copied;
};

// The isolate's embedder data slot that RememberHeapLimit() uses; hosts keep their own data in
// other slots.
inline constexpr uint32_t kHeapLimitDataSlot = 1;

// Records the heap limit the isolate was created with. Serialize and Deserialize bound what they
// accept by it; without it they read the isolate's heap statistics (a walk over every heap space)
// on every call.
void RememberHeapLimit(v8::Isolate* isolate, size_t heap_limit_bytes);

// Returns the serialized bytes, or nullopt with a JS exception pending (DataCloneError).
// A host object of kind kBlob is written with its contents; any other host object is refused with
// workerd's DataCloneError ("Could not serialize object of type "File". ...").
std::optional<std::string> Serialize(v8::Isolate* isolate, v8::Local<v8::Value> value,
                                     const CloneHooks& hooks);

// Returns the value, or an empty handle with a JS exception pending.
v8::MaybeLocal<v8::Value> Deserialize(v8::Isolate* isolate, const char* data, size_t size,
                                      const CloneHooks& hooks);

}  // namespace dorm::js
