#include "js/host_objects.h"

#include "js/strings.h"

namespace dorm::js {

v8::Local<v8::ObjectTemplate> NewHostObjectTemplate(v8::Isolate* isolate) {
  v8::Local<v8::ObjectTemplate> object_template = v8::ObjectTemplate::New(isolate);
  object_template->SetInternalFieldCount(kHostObjectFields);
  return object_template;
}

v8::MaybeLocal<v8::Object> NewHostObject(v8::Local<v8::Context> context,
                                         v8::Local<v8::ObjectTemplate> object_template,
                                         v8::Local<v8::Value> prototype, HostObjectKind kind,
                                         v8::Local<v8::Value> first, v8::Local<v8::Value> second) {
  v8::Isolate* isolate = context->GetIsolate();
  bool valid = prototype->IsObject();
  if (kind == HostObjectKind::kBlob) {
    valid = valid && first->IsUint8Array() && second->IsString();
  } else {
    valid = valid && first->IsString();
  }
  if (!valid) {
    ThrowTypeError(isolate, "newHostObject(prototype, kind, ...): wrong argument types");
    return {};
  }
  v8::Local<v8::Object> object;
  if (!object_template->NewInstance(context).ToLocal(&object)) return {};
  bool ok = false;
  if (!object->SetPrototype(context, prototype).To(&ok) || !ok) return {};
  object->SetInternalField(0, v8::Integer::New(isolate, static_cast<int32_t>(kind)));
  object->SetInternalField(1, first);
  object->SetInternalField(
      2, kind == HostObjectKind::kBlob ? second : v8::Local<v8::Value>(v8::Undefined(isolate)));
  return object;
}

v8::MaybeLocal<v8::Object> CopyHostObject(v8::Local<v8::Context> context,
                                          v8::Local<v8::Value> exemplar, HostObjectKind kind,
                                          v8::Local<v8::Value> first) {
  v8::Isolate* isolate = context->GetIsolate();
  if (!exemplar->IsObject() ||
      exemplar.As<v8::Object>()->InternalFieldCount() != kHostObjectFields ||
      kind == HostObjectKind::kBlob || !first->IsString()) {
    ThrowTypeError(isolate, "copyHostObject(exemplar, kind, name): wrong argument types");
    return {};
  }
  // Object::Clone copies the object as it is (map, internal fields, properties): the fields are
  // all written again below, and the exemplar has no properties.
  v8::Local<v8::Object> object = exemplar.As<v8::Object>()->Clone();
  object->SetInternalField(0, v8::Integer::New(isolate, static_cast<int32_t>(kind)));
  object->SetInternalField(1, first);
  object->SetInternalField(2, v8::Undefined(isolate));
  return object;
}

}  // namespace dorm::js
