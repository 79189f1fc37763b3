#include "runtime/js_request.h"

#include <string>
#include <vector>

#include "js/strings.h"

namespace dorm::runtime {

v8::MaybeLocal<v8::Value> NewJsRequest(AppIsolate* app, HttpRequestData request,
                                       v8::Local<v8::Value> stream_body) {
  v8::Isolate* isolate = app->isolate();
  v8::Local<v8::Context> context = app->context();
  // Built from its elements: Set() would call setters user code may have put on Array.prototype.
  std::vector<v8::Local<v8::Value>> header_items;
  header_items.reserve(request.headers.size() * 2);
  for (const auto& [name, value] : request.headers) {
    header_items.push_back(js::FromLatin1(isolate, name));
    header_items.push_back(js::FromLatin1(isolate, value));
  }
  v8::Local<v8::Array> headers = v8::Array::New(isolate, header_items.data(), header_items.size());
  v8::Local<v8::Value> body = v8::Null(isolate);
  if (!stream_body.IsEmpty()) {
    body = stream_body;
  } else if (!request.body.empty()) {
    // The body's memory is the request's own; it does not count against the isolate's budget.
    auto* bytes = new std::string(std::move(request.body));
    auto store = v8::ArrayBuffer::NewBackingStore(
        bytes->data(), bytes->size(),
        [](void*, size_t, void* data) { delete static_cast<std::string*>(data); }, bytes);
    size_t length = store->ByteLength();
    v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, std::move(store));
    body = v8::Uint8Array::New(buffer, 0, length);
  }
  v8::Local<v8::Value> args[] = {js::FromUtf8(isolate, request.method),
                                 js::FromUtf8(isolate, request.url), headers, body};
  return app->new_request()->Call(context, v8::Undefined(isolate), 4, args);
}

}  // namespace dorm::runtime
