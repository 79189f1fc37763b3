// ArrayBuffers that natives fill for user code, made without ending the process when the
// isolate's allocator refuses the memory.
//
// v8::ArrayBuffer::New(isolate, length) ends the process ("Fatal process OOM in
// v8::ArrayBuffer::New") when the allocator returns null. The isolates' allocator
// (array_buffer_allocator.h) returns null past the app's memory budget, which the app's own code
// fills at will: a TextEncoder's output, a digest, a fetch body or a cache entry made when the
// budget was nearly full took down the runtime process and every app in it. These take the memory
// from the same allocator (so it is charged as V8's own buffers are) and report a refusal instead.
//
// Contracts: call on the isolate's thread with a context entered. A refusal is asked again after
// a full garbage collection (as V8 does for `new ArrayBuffer`: dropped buffers count until they are
// collected). On a final refusal the result is empty and a RangeError "Array buffer allocation
// failed" (V8's own, for `new ArrayBuffer`) is pending; with the budgeted allocator the refusal is
// also pending in the budget, and its owner ends the turn (the app's objects are reset with the
// memory-limit error, see AppIsolate::SettleMemoryRefusal). The caller must return to JavaScript
// without calling into it again. The memory goes back to the allocator when V8 frees the buffer,
// possibly on another thread; the allocator must outlive the isolate's buffers, as it must for
// V8's own.
#pragma once

#include <v8.h>

#include <string_view>

namespace dorm::js {

// A new ArrayBuffer holding a copy of `bytes`; empty if the allocator refused (see above).
v8::MaybeLocal<v8::ArrayBuffer> NewArrayBufferCopy(v8::Isolate* isolate, std::string_view bytes);

// The same as a Uint8Array over the whole buffer.
v8::MaybeLocal<v8::Uint8Array> NewUint8ArrayCopy(v8::Isolate* isolate, std::string_view bytes);

}  // namespace dorm::js
