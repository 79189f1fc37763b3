// The native behind js/prelude/globals.js's read-only attributes: workerd's interfaces declare
// their read-only attributes as read-only accessors, so that assigning one in strict code throws
// V8's "Cannot assign to read only property 'x' of object '#<Event>'". An accessor defined from
// JavaScript has no read-only bit (V8 would say "... which has only a getter"); this sets it.
// Contracts: docs/contracts.md.
#include "js/strings.h"
#include "runtime/native_module.h"

namespace dorm::runtime {
namespace {

// markReadOnly(object, name) → boolean: when `object` has an own accessor property `name` (a
// string) with a getter function and no setter, defines it again with the same getter,
// enumerability and configurability, read-only; true if it did. Anything else is left as it is
// (false); a wrong argument type throws a TypeError. Runs no JavaScript but what V8 runs to read
// an ordinary object's own property (nothing: proxies are refused).
void MarkReadOnly(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  if (!info[0]->IsObject() || info[0]->IsProxy() || !info[1]->IsString()) {
    js::ThrowTypeError(isolate, "markReadOnly(object, name): wrong argument types");
    return;
  }
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Object> object = info[0].As<v8::Object>();
  v8::Local<v8::String> name = info[1].As<v8::String>();
  info.GetReturnValue().Set(false);
  v8::Local<v8::Value> descriptor;
  if (!object->GetOwnPropertyDescriptor(context, name).ToLocal(&descriptor) ||
      !descriptor->IsObject()) {
    return;
  }
  v8::Local<v8::Object> desc = descriptor.As<v8::Object>();
  // A data property's descriptor has no own `get`: reading one would reach Object.prototype.
  v8::Local<v8::String> get_key = js::FromUtf8(isolate, "get");
  bool is_accessor = false;
  if (!desc->HasOwnProperty(context, get_key).To(&is_accessor) || !is_accessor) return;
  v8::Local<v8::Value> get, set, enumerable, configurable;
  if (!desc->Get(context, get_key).ToLocal(&get) ||
      !desc->Get(context, js::FromUtf8(isolate, "set")).ToLocal(&set) ||
      !desc->Get(context, js::FromUtf8(isolate, "enumerable")).ToLocal(&enumerable) ||
      !desc->Get(context, js::FromUtf8(isolate, "configurable")).ToLocal(&configurable)) {
    return;
  }
  if (!get->IsFunction() || !set->IsUndefined() || !configurable->IsTrue()) return;
  int attributes = v8::ReadOnly;
  if (!enumerable->IsTrue()) attributes |= v8::DontEnum;
  object->SetAccessorProperty(name, get.As<v8::Function>(), v8::Local<v8::Function>(),
                              static_cast<v8::PropertyAttribute>(attributes));
  info.GetReturnValue().Set(true);
}

constexpr NativeFunction kInterfaceNatives[] = {
    {"markReadOnly", &MarkReadOnly},
};

}  // namespace

std::span<const NativeFunction> InterfaceNatives() { return kInterfaceNatives; }

}  // namespace dorm::runtime
