// A bound on what V8's ValueDeserializer allocates for a byte string, checked without V8.
//
// V8 trusts the lengths it reads: a sparse array of length n (below 32 Mi) gets a backing store of
// n slots before any element is read, so a few bytes can ask for hundreds of MiB, and the
// isolate's near-heap-limit termination is not looked at inside the deserializer (the process
// dies). Small objects are amplified too: three bytes make an empty Map of about 200 bytes.
// Stored bytes come from our writer, but a damaged database file or a hostile tenant's SQL can
// change them, so every byte string goes through CheckCloneBytes() before V8 sees it.
//
// The check walks the wire format of V8's ValueSerializer (versions 14 and 15, the ones the
// libnode in use writes) exactly as the reader consumes it, and estimates the heap each item
// costs. It accepts only what our writer produces: tags the writer never emits (host objects
// other than a Blob as js/host_objects.h writes it, transfers, shared buffers, WebAssembly, the
// legacy UTF-8 string, the object count) and non-canonical varints are refused, so that the walk
// and V8's reading cannot disagree on where an item ends. V8 keeps its own checks (matching counts,
// view bounds, RegExp flags); this one only guarantees a bounded allocation and a bounded nesting
// depth.
//
// Thread-safe: no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dorm::js {

struct CloneBytesLimits {
  // Estimated bytes V8 may allocate (heap objects, element backing stores, ArrayBuffer contents).
  uint64_t allocation_budget = 32u << 20;
  // Containers nested deeper than this are refused: V8 itself stops at its stack limit a few
  // thousand levels down, and the check recurses once per level.
  uint32_t max_depth = 4096;
};

struct CloneBytesVerdict {
  enum class Kind {
    kOk,
    kMalformed,  // not something our writer produces, or cut short
    kTooLarge,   // reading it would allocate more than the budget
    kTooDeep,    // nested deeper than max_depth
  };
  Kind kind = Kind::kOk;
  // For kMalformed, what is wrong and at which byte; for kTooLarge, the item that went over.
  std::string reason;
  // The estimate so far (for kOk, the whole value's).
  uint64_t estimated_bytes = 0;

  bool ok() const { return kind == Kind::kOk; }
};

// Walks `bytes` (a header then one value, nothing after it) and says whether V8 may read it.
CloneBytesVerdict CheckCloneBytes(std::string_view bytes, const CloneBytesLimits& limits);

}  // namespace dorm::js
