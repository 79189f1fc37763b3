// The natives behind js/prelude/compression_streams.js (CompressionStream and
// DecompressionStream), and of the Brotli bodies (response.js, encoded_body.js): one zlib or
// Brotli stream per JavaScript handle. Contracts: docs/contracts.md.
//
// Ownership: a stream belongs to its handle, an empty object whose internal fields hold the
// stream's Holder and a tag. zlibRelease() frees the zlib state at once (the stream's end, error
// or cancel); a handle that is garbage-collected first frees it then, and disposing the isolate
// frees the rest (ReleaseCompressionStreams). The zlib state is charged to the app's memory
// budget, and each zlibPump() call produces at most kZlibPieceBytes of output, so that a
// decompression bomb is read in bounded pieces at the reader's pace.
#include "runtime/compression_natives.h"

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "js/array_buffers.h"
#include "js/strings.h"
#include "runtime/brotli_stream.h"
#include "runtime/native_module.h"
#include "runtime/zlib_stream.h"

namespace dorm::runtime {
namespace {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

// The most output one zlibPump() call returns.
constexpr size_t kZlibPieceBytes = 64 * 1024;
// The most input one zlibPush() call takes (the stream copies it): larger writes come in pieces.
constexpr size_t kZlibMaxInputBytes = 1024 * 1024;
// Handles carry this tag in their second internal field, so that no other host object with
// internal fields can be taken for one.
constexpr int kZlibHandleFields = 2;
alignas(8) const char kZlibHandleTag[8] = "zstream";

// One of zlib's formats or Brotli, behind the one interface the natives use.
class CodecStream {
 public:
  explicit CodecStream(std::unique_ptr<ZlibStream> zlib) : zlib_(std::move(zlib)) {}
  explicit CodecStream(std::unique_ptr<BrotliStream> brotli) : brotli_(std::move(brotli)) {}
  bool has_input() const { return zlib_ ? zlib_->has_input() : brotli_->has_input(); }
  void SetInput(std::string bytes) {
    zlib_ ? zlib_->SetInput(std::move(bytes)) : brotli_->SetInput(std::move(bytes));
  }
  size_t Pump(bool finish, unsigned char* out, size_t capacity, const char** error) {
    return zlib_ ? zlib_->Pump(finish, out, capacity, error)
                 : brotli_->Pump(finish, out, capacity, error);
  }

 private:
  std::unique_ptr<ZlibStream> zlib_;
  std::unique_ptr<BrotliStream> brotli_;
};

struct ZlibHolder {
  v8::Global<v8::Object> handle;
  std::unique_ptr<CodecStream> stream;  // null once released
  v8::Isolate* isolate;
};

// Per isolate: the handles' template and the holders not yet freed. Each isolate lives on one
// thread, so each thread keeps its own.
struct IsolateZlibStreams {
  v8::Global<v8::ObjectTemplate> handle_template;
  std::unordered_set<ZlibHolder*> live;
};
std::unordered_map<v8::Isolate*, IsolateZlibStreams>& ZlibStreamsByIsolate() {
  thread_local std::unordered_map<v8::Isolate*, IsolateZlibStreams> streams;
  return streams;
}

void FreeZlibHolder(ZlibHolder* holder) {
  auto& all = ZlibStreamsByIsolate();
  auto it = all.find(holder->isolate);
  if (it != all.end()) it->second.live.erase(holder);
  delete holder;
}

// The holder of handle `value` with its stream still open; nullptr, with a TypeError thrown, for
// anything else.
ZlibHolder* ZlibHolderArg(v8::Isolate* isolate, Local<Value> value, const char* native) {
  ZlibHolder* holder = nullptr;
  if (value->IsObject()) {
    Local<v8::Object> handle = value.As<v8::Object>();
    if (handle->InternalFieldCount() == kZlibHandleFields &&
        handle->GetAlignedPointerFromInternalField(1) == kZlibHandleTag) {
      holder = static_cast<ZlibHolder*>(handle->GetAlignedPointerFromInternalField(0));
    }
  }
  if (!holder || !holder->stream) {
    js::ThrowTypeError(isolate, std::string(native) + ": not an open zlib stream");
    return nullptr;
  }
  return holder;
}

// zlibCreate(compress: boolean, format: string) → handle. The format is one of
// CompressionStream's, or "br" (Brotli, which only the runtime's own code asks for).
void ZlibCreate(const FunctionCallbackInfo<Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  Local<v8::Context> context = isolate->GetCurrentContext();
  if (!info[0]->IsBoolean() || !info[1]->IsString()) {
    js::ThrowTypeError(isolate, "zlibCreate(compress, format): wrong argument types");
    return;
  }
  const bool compress = info[0]->IsTrue();
  const std::string format = js::ToUtf8(isolate, info[1]);
  AppIsolate* app = AppOf(info);
  ZlibStream::MemoryHooks hooks{
      [isolate] { isolate->LowMemoryNotification(); },
      [isolate](int64_t change) { isolate->AdjustAmountOfExternalAllocatedMemory(change); }};
  std::unique_ptr<CodecStream> stream;
  if (format == "gzip" || format == "deflate" || format == "deflate-raw") {
    auto zlib = ZlibStream::Create(compress, format, &app->memory_budget(), std::move(hooks));
    if (zlib) stream = std::make_unique<CodecStream>(std::move(zlib));
  } else if (format == "br") {
    auto brotli = BrotliStream::Create(compress, &app->memory_budget(), std::move(hooks));
    if (brotli) stream = std::make_unique<CodecStream>(std::move(brotli));
  } else {
    js::ThrowTypeError(isolate,
                       "The compression format must be either 'deflate', 'deflate-raw' or 'gzip'.");
    return;
  }
  if (!stream) {
    js::ThrowError(isolate, "Failed to initialize compression context.");
    return;
  }
  IsolateZlibStreams& streams = ZlibStreamsByIsolate()[isolate];
  if (streams.handle_template.IsEmpty()) {
    Local<v8::ObjectTemplate> handle_template = v8::ObjectTemplate::New(isolate);
    handle_template->SetInternalFieldCount(kZlibHandleFields);
    streams.handle_template.Reset(isolate, handle_template);
  }
  Local<v8::Object> handle;
  if (!streams.handle_template.Get(isolate)->NewInstance(context).ToLocal(&handle)) return;
  auto* holder =
      new ZlibHolder{v8::Global<v8::Object>(isolate, handle), std::move(stream), isolate};
  streams.live.insert(holder);
  handle->SetAlignedPointerInInternalField(0, holder);
  handle->SetAlignedPointerInInternalField(1, const_cast<char*>(kZlibHandleTag));
  holder->handle.SetWeak(
      holder,
      [](const v8::WeakCallbackInfo<ZlibHolder>& data) { FreeZlibHolder(data.GetParameter()); },
      v8::WeakCallbackType::kParameter);
  info.GetReturnValue().Set(handle);
}

// zlibPush(handle, bytes: ArrayBufferView) → undefined: the next input (at most 1 MiB), once the
// last is consumed.
void ZlibPush(const FunctionCallbackInfo<Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  ZlibHolder* holder = ZlibHolderArg(isolate, info[0], "zlibPush");
  if (!holder) return;
  if (!info[1]->IsArrayBufferView()) {
    js::ThrowTypeError(isolate, "zlibPush(handle, bytes): bytes is not an ArrayBufferView");
    return;
  }
  if (holder->stream->has_input()) {
    js::ThrowTypeError(isolate, "zlibPush: the previous input is not consumed yet");
    return;
  }
  auto view = info[1].As<v8::ArrayBufferView>();
  if (view->ByteLength() > kZlibMaxInputBytes) {
    js::ThrowTypeError(isolate, "zlibPush: more than 1 MiB of input at once");
    return;
  }
  std::string bytes(view->ByteLength(), '\0');
  view->CopyContents(bytes.data(), bytes.size());
  holder->stream->SetInput(std::move(bytes));
}

// zlibPump(handle, finish: boolean) → Uint8Array | null.
void ZlibPump(const FunctionCallbackInfo<Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  ZlibHolder* holder = ZlibHolderArg(isolate, info[0], "zlibPump");
  if (!holder) return;
  if (!info[1]->IsBoolean()) {
    js::ThrowTypeError(isolate, "zlibPump(handle, finish): finish is not a boolean");
    return;
  }
  thread_local std::vector<unsigned char> scratch(kZlibPieceBytes);
  const char* error = nullptr;
  const size_t produced =
      holder->stream->Pump(info[1]->IsTrue(), scratch.data(), scratch.size(), &error);
  if (error) {
    js::ThrowTypeError(isolate, error);
    return;
  }
  if (produced == 0) {
    info.GetReturnValue().SetNull();
    return;
  }
  Local<v8::Uint8Array> piece;
  if (js::NewUint8ArrayCopy(
          isolate, std::string_view(reinterpret_cast<const char*>(scratch.data()), produced))
          .ToLocal(&piece)) {
    info.GetReturnValue().Set(piece);
  }
}

// zlibRelease(handle) → undefined: frees the stream's zlib state now; no-op if already released.
void ZlibRelease(const FunctionCallbackInfo<Value>& info) {
  if (!info[0]->IsObject()) return;
  Local<v8::Object> handle = info[0].As<v8::Object>();
  if (handle->InternalFieldCount() != kZlibHandleFields ||
      handle->GetAlignedPointerFromInternalField(1) != kZlibHandleTag) {
    return;
  }
  auto* holder = static_cast<ZlibHolder*>(handle->GetAlignedPointerFromInternalField(0));
  if (holder) holder->stream.reset();
}

constexpr NativeFunction kCompressionNatives[] = {
    {"zlibCreate", &ZlibCreate},
    {"zlibPush", &ZlibPush},
    {"zlibPump", &ZlibPump},
    {"zlibRelease", &ZlibRelease},
};

}  // namespace

void ReleaseCompressionStreams(v8::Isolate* isolate) {
  auto& all = ZlibStreamsByIsolate();
  auto it = all.find(isolate);
  if (it == all.end()) return;
  IsolateZlibStreams streams = std::move(it->second);
  all.erase(it);
  for (ZlibHolder* holder : streams.live) delete holder;
  streams.handle_template.Reset();
}

std::span<const NativeFunction> CompressionNatives() { return kCompressionNatives; }

}  // namespace dorm::runtime
