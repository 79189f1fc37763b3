// The natives behind js/prelude/digest_stream.js (crypto.DigestStream): one incremental hash per
// JavaScript handle. Contracts: docs/contracts.md.
//
// Ownership: a hash state belongs to its handle, an empty object whose internal fields hold the
// state's holder and a tag. digestStreamFinish() and digestStreamRelease() free the state at once
// (the stream's close or abort), after which the handle names nothing; a handle that is
// garbage-collected first frees it then, and disposing the isolate frees the rest
// (ReleaseDigestStreams). Each state is charged to the app's memory budget, and the bytes are
// hashed in place, so that a stream holds a fixed amount of memory whatever is written to it.
#include "runtime/digest_stream_natives.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "js/array_buffers.h"
#include "js/strings.h"
#include "runtime/native_module.h"
#include "util/crc.h"

namespace dorm::runtime {
namespace {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

// What one hash state is charged: the holder, OpenSSL's context and its largest digest state
// (SHA-512's), rounded up.
constexpr size_t kDigestStateCharge = 512;
constexpr int kDigestHandleFields = 2;
// Handles carry this tag in their second internal field, so that no other host object with
// internal fields can be taken for one.
alignas(8) const char kDigestHandleTag[8] = "digests";

struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// The checksums hashed without OpenSSL. Each is given big-endian, in its width (4 or 8 bytes).
enum class CrcKind { kCrc32, kCrc32c, kCrc64Nvme };

struct DigestHolder {
  v8::Global<v8::Object> handle;
  v8::Isolate* isolate;
  js::ByteBudget* budget;
  // The OpenSSL hash, or (null) the checksum `crc_kind` in `crc`. `open` is false once finished
  // or released.
  std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree> ctx;
  CrcKind crc_kind = CrcKind::kCrc32;
  uint64_t crc = 0;
  bool open = true;
  bool charged = true;

  // Frees the hash state and gives back its charge; the holder stays until its handle goes.
  void Close() {
    open = false;
    ctx.reset();
    if (charged) {
      charged = false;
      budget->Release(kDigestStateCharge);
      isolate->AdjustAmountOfExternalAllocatedMemory(-static_cast<int64_t>(kDigestStateCharge));
    }
  }
};

// Per isolate: the handles' template and the holders not yet freed. Each isolate lives on one
// thread, so each thread keeps its own.
struct IsolateDigestStreams {
  v8::Global<v8::ObjectTemplate> handle_template;
  std::unordered_set<DigestHolder*> live;
};
std::unordered_map<v8::Isolate*, IsolateDigestStreams>& DigestStreamsByIsolate() {
  thread_local std::unordered_map<v8::Isolate*, IsolateDigestStreams> streams;
  return streams;
}

void FreeDigestHolder(DigestHolder* holder) {
  auto& all = DigestStreamsByIsolate();
  auto it = all.find(holder->isolate);
  if (it != all.end()) it->second.live.erase(holder);
  holder->Close();
  delete holder;
}

// The holder behind `value` if it is a digest handle (open or not), else nullptr.
DigestHolder* DigestHolderOf(Local<Value> value) {
  if (!value->IsObject()) return nullptr;
  Local<v8::Object> handle = value.As<v8::Object>();
  if (handle->InternalFieldCount() != kDigestHandleFields ||
      handle->GetAlignedPointerFromInternalField(1) != kDigestHandleTag) {
    return nullptr;
  }
  return static_cast<DigestHolder*>(handle->GetAlignedPointerFromInternalField(0));
}

// The holder of an open handle; nullptr, with a TypeError thrown, for anything else.
DigestHolder* OpenDigestArg(v8::Isolate* isolate, Local<Value> value, const char* native) {
  DigestHolder* holder = DigestHolderOf(value);
  if (!holder || !holder->open) {
    js::ThrowTypeError(isolate, std::string(native) + ": not an open digest stream");
    return nullptr;
  }
  return holder;
}

const EVP_MD* DigestByName(const std::string& name) {
  if (name == "SHA-1") return EVP_sha1();
  if (name == "SHA-256") return EVP_sha256();
  if (name == "SHA-384") return EVP_sha384();
  if (name == "SHA-512") return EVP_sha512();
  if (name == "MD5") return EVP_md5();
  return nullptr;
}

// The checksum named `name` (the prelude's names for them); false for another name.
bool CrcByName(const std::string& name, CrcKind* kind) {
  if (name == "CRC32") {
    *kind = CrcKind::kCrc32;
  } else if (name == "CRC32C") {
    *kind = CrcKind::kCrc32c;
  } else if (name == "CRC64NVME") {
    *kind = CrcKind::kCrc64Nvme;
  } else {
    return false;
  }
  return true;
}

// digestStreamCreate(algorithm: string) → handle.
void DigestStreamCreate(const FunctionCallbackInfo<Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  Local<v8::Context> context = isolate->GetCurrentContext();
  if (!info[0]->IsString()) {
    js::ThrowTypeError(isolate, "digestStreamCreate(algorithm): algorithm is not a string");
    return;
  }
  const std::string name = js::ToUtf8(isolate, info[0]);
  const EVP_MD* md = DigestByName(name);
  CrcKind crc_kind = CrcKind::kCrc32;
  if (!md && !CrcByName(name, &crc_kind)) {
    js::ThrowTypeError(isolate, "digestStreamCreate: unknown algorithm");
    return;
  }
  js::ByteBudget& budget = AppOf(info)->memory_budget();
  if (!budget.TryReserve(kDigestStateCharge)) {
    // Streams dropped without being closed hold their state until collected: collect first.
    isolate->LowMemoryNotification();
    if (!budget.Reserve(kDigestStateCharge)) {
      js::ThrowError(isolate, "Failed to initialize the digest context.");
      return;
    }
  }
  auto holder = std::make_unique<DigestHolder>();
  holder->isolate = isolate;
  holder->budget = &budget;
  isolate->AdjustAmountOfExternalAllocatedMemory(static_cast<int64_t>(kDigestStateCharge));
  if (md) {
    holder->ctx.reset(EVP_MD_CTX_new());
    if (!holder->ctx || EVP_DigestInit_ex(holder->ctx.get(), md, nullptr) != 1) {
      holder->Close();
      js::ThrowError(isolate, "Failed to initialize the digest context.");
      return;
    }
  } else {
    holder->crc_kind = crc_kind;
    holder->crc = 0;  // the value of no bytes, for each of the three
  }
  IsolateDigestStreams& streams = DigestStreamsByIsolate()[isolate];
  if (streams.handle_template.IsEmpty()) {
    Local<v8::ObjectTemplate> handle_template = v8::ObjectTemplate::New(isolate);
    handle_template->SetInternalFieldCount(kDigestHandleFields);
    streams.handle_template.Reset(isolate, handle_template);
  }
  Local<v8::Object> handle;
  if (!streams.handle_template.Get(isolate)->NewInstance(context).ToLocal(&handle)) {
    holder->Close();
    return;
  }
  DigestHolder* raw = holder.release();
  raw->handle.Reset(isolate, handle);
  streams.live.insert(raw);
  handle->SetAlignedPointerInInternalField(0, raw);
  handle->SetAlignedPointerInInternalField(1, const_cast<char*>(kDigestHandleTag));
  raw->handle.SetWeak(
      raw,
      [](const v8::WeakCallbackInfo<DigestHolder>& data) { FreeDigestHolder(data.GetParameter()); },
      v8::WeakCallbackType::kParameter);
  info.GetReturnValue().Set(handle);
}

// digestStreamUpdate(handle, bytes: ArrayBuffer | ArrayBufferView) → number: hashes the bytes
// where they are (none once detached) and returns how many.
void DigestStreamUpdate(const FunctionCallbackInfo<Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  DigestHolder* holder = OpenDigestArg(isolate, info[0], "digestStreamUpdate");
  if (!holder) return;
  size_t size = 0;  // 0 once detached
  size_t offset = 0;
  Local<v8::ArrayBuffer> buffer;
  if (info[1]->IsArrayBufferView()) {
    Local<v8::ArrayBufferView> view = info[1].As<v8::ArrayBufferView>();
    size = view->ByteLength();
    offset = view->ByteOffset();
    if (size > 0) buffer = view->Buffer();
  } else if (info[1]->IsArrayBuffer()) {
    buffer = info[1].As<v8::ArrayBuffer>();
    size = buffer->ByteLength();
  } else {
    js::ThrowTypeError(isolate,
                       "digestStreamUpdate(handle, bytes): bytes is not an ArrayBuffer or a view");
    return;
  }
  info.GetReturnValue().Set(0);
  if (size == 0) return;
  std::shared_ptr<v8::BackingStore> store = buffer->GetBackingStore();
  if (offset > store->ByteLength() || size > store->ByteLength() - offset) {
    js::ThrowTypeError(isolate, "digestStreamUpdate: the view is out of its buffer's bounds");
    return;
  }
  const auto* data = static_cast<const unsigned char*>(store->Data()) + offset;
  if (holder->ctx) {
    EVP_DigestUpdate(holder->ctx.get(), data, size);
  } else if (holder->crc_kind == CrcKind::kCrc32c) {
    holder->crc = Crc32cUpdate(static_cast<uint32_t>(holder->crc), data, size);
  } else if (holder->crc_kind == CrcKind::kCrc64Nvme) {
    holder->crc = Crc64NvmeUpdate(holder->crc, data, size);
  } else {
    // zlib's crc32() takes a uInt length: feed it in pieces.
    for (size_t at = 0; at < size;) {
      const size_t piece = std::min<size_t>(size - at, 1u << 30);
      holder->crc = crc32(static_cast<uLong>(holder->crc), data + at, static_cast<uInt>(piece));
      at += piece;
    }
  }
  info.GetReturnValue().Set(static_cast<double>(size));
}

// digestStreamFinish(handle) → ArrayBuffer: the digest (a checksum big-endian, in 4 or 8 bytes);
// the handle is closed.
void DigestStreamFinish(const FunctionCallbackInfo<Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  DigestHolder* holder = OpenDigestArg(isolate, info[0], "digestStreamFinish");
  if (!holder) return;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (holder->ctx) {
    EVP_DigestFinal_ex(holder->ctx.get(), out, &length);
  } else {
    length = holder->crc_kind == CrcKind::kCrc64Nvme ? 8 : 4;
    for (unsigned int i = 0; i < length; ++i) {
      out[i] = static_cast<unsigned char>(holder->crc >> (8 * (length - 1 - i)));
    }
  }
  holder->Close();
  Local<v8::ArrayBuffer> buffer;
  if (js::NewArrayBufferCopy(isolate, std::string_view(reinterpret_cast<const char*>(out), length))
          .ToLocal(&buffer)) {
    info.GetReturnValue().Set(buffer);
  }
}

// digestStreamRelease(handle) → undefined: frees the hash state now; anything not an open
// handle is ignored.
void DigestStreamRelease(const FunctionCallbackInfo<Value>& info) {
  DigestHolder* holder = DigestHolderOf(info[0]);
  if (holder && holder->open) holder->Close();
}

constexpr NativeFunction kDigestStreamNatives[] = {
    {"digestStreamCreate", &DigestStreamCreate},
    {"digestStreamUpdate", &DigestStreamUpdate},
    {"digestStreamFinish", &DigestStreamFinish},
    {"digestStreamRelease", &DigestStreamRelease},
};

}  // namespace

void ReleaseDigestStreams(v8::Isolate* isolate) {
  auto& all = DigestStreamsByIsolate();
  auto it = all.find(isolate);
  if (it == all.end()) return;
  IsolateDigestStreams streams = std::move(it->second);
  all.erase(it);
  for (DigestHolder* holder : streams.live) {
    holder->Close();
    delete holder;
  }
  streams.handle_template.Reset();
}

std::span<const NativeFunction> DigestStreamNatives() { return kDigestStreamNatives; }

}  // namespace dorm::runtime
