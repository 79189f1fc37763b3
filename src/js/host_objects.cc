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
                                          v8::Local<v8::Value> exemplar) {
  bool valid =
      exemplar->IsObject() && exemplar.As<v8::Object>()->InternalFieldCount() == kHostObjectFields;
  if (valid) {
    v8::Local<v8::Value> kind = exemplar.As<v8::Object>()->GetInternalField(0);
    valid = kind->IsInt32() &&
            (kind.As<v8::Int32>()->Value() == static_cast<int32_t>(HostObjectKind::kUncloneable) ||
             kind.As<v8::Int32>()->Value() == static_cast<int32_t>(HostObjectKind::kRefused) ||
             kind.As<v8::Int32>()->Value() == static_cast<int32_t>(HostObjectKind::kCopied));
  }
  if (!valid) {
    ThrowTypeError(context->GetIsolate(), "copyHostObject(exemplar): not a host object");
    return {};
  }
  // Object::Clone copies the object as it is: map, internal fields and (none here) properties.
  return exemplar.As<v8::Object>()->Clone();
}

}  // namespace dorm::js
