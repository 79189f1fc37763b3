#include "runtime/js_request.h"

#include <memory>
#include <string>
#include <vector>

#include "js/array_buffers.h"
#include "js/byte_budget.h"
#include "js/strings.h"

namespace dorm::runtime {

namespace {

// A request body a backing store owns, and the budget its size is counted against until V8 frees
// the store (on any thread; ByteBudget is thread-safe).
struct HeldBody {
  std::string bytes;
  std::shared_ptr<js::ByteBudget> budget;
};

}  // namespace

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
    // The body's memory is the request's own (not copied), and counts against the app's memory
    // budget for as long as JavaScript holds it: a handler that keeps requests (or their bodies)
    // after answering must not grow the process past that budget. When the budget cannot take it
    // now, the bytes are copied through the isolate's allocator instead, which collects garbage
    // and asks again before refusing; a final refusal leaves a RangeError pending and resets the
    // app's objects with the memory-limit error, as for `new ArrayBuffer`.
    std::shared_ptr<js::ByteBudget> budget = app->shared_memory_budget();
    const size_t size = request.body.size();
    if (budget->TryReserve(size)) {
      auto* held = new HeldBody{std::move(request.body), std::move(budget)};
      auto store = v8::ArrayBuffer::NewBackingStore(
          held->bytes.data(), size,
          [](void*, size_t, void* data) {
            auto* held = static_cast<HeldBody*>(data);
            held->budget->Release(held->bytes.size());
            delete held;
          },
          held);
      v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, std::move(store));
      body = v8::Uint8Array::New(buffer, 0, size);
    } else {
      v8::Local<v8::Uint8Array> copy;
      if (!js::NewUint8ArrayCopy(isolate, request.body).ToLocal(&copy)) return {};
      body = copy;
    }
  }
  v8::Local<v8::Value> args[] = {js::FromUtf8(isolate, request.method),
                                 js::FromUtf8(isolate, request.url), headers, body};
  return app->new_request()->Call(context, v8::Undefined(isolate), 4, args);
}

}  // namespace dorm::runtime
