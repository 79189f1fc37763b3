#include "js/clone_bytes_check.h"

#include <vector>

namespace dorm::js {
namespace {

// Costs are estimates of what V8 (64-bit, 8-byte tagged slots) allocates for each item; they
// err high. Element and property slots are charged to their container.
constexpr uint64_t kSlot = 8;
constexpr uint64_t kHeapNumberCost = 16;
constexpr uint64_t kStringHeaderCost = 24;
constexpr uint64_t kBigIntHeaderCost = 16;
constexpr uint64_t kObjectCost = 64;
constexpr uint64_t kPropertyCost = 32;
constexpr uint64_t kArrayCost = 32;
constexpr uint64_t kDictionaryElementCost = 48;
constexpr uint64_t kDateCost = 48;
constexpr uint64_t kWrapperCost = 48;
constexpr uint64_t kRegExpCost = 128;
constexpr uint64_t kCollectionCost = 224;
constexpr uint64_t kMapEntryCost = 48;
constexpr uint64_t kSetEntryCost = 32;
constexpr uint64_t kArrayBufferCost = 160;
constexpr uint64_t kViewCost = 96;
constexpr uint64_t kErrorCost = 256;
// A Blob: its JS object, its Uint8Array and ArrayBuffer (contents and type charged apart).
constexpr uint64_t kBlobCost = 512;
// A copied Headers, Request, Response or DOMException, beside its description: the object, its
// private state and the header list's arrays.
constexpr uint64_t kCopiedCost = 1024;

// V8 gives a sparse array of a length below this a fast backing store of `length` slots
// (JSArray::SetLength); from it on, dictionary elements that grow with the entries.
constexpr uint64_t kMaxFastArrayLength = 32u * 1024 * 1024;
// FixedArray::kMaxLength on 64-bit builds: V8 refuses longer dense arrays.
constexpr uint64_t kMaxFixedArrayLength = 128u * 1024 * 1024 - 2;

// The wire format's tags (V8's SerializationTag), as our writer emits them.
enum Tag : uint8_t {
  kVersion = 0xFF,
  kPadding = '\0',
  kTheHole = '-',
  kUndefined = '_',
  kNull = '0',
  kTrue = 'T',
  kFalse = 'F',
  kInt32 = 'I',
  kUint32 = 'U',
  kDouble = 'N',
  kBigInt = 'Z',
  kOneByteString = '"',
  kTwoByteString = 'c',
  kObjectReference = '^',
  kBeginJSObject = 'o',
  kEndJSObject = '{',
  kBeginSparseJSArray = 'a',
  kEndSparseJSArray = '@',
  kBeginDenseJSArray = 'A',
  kEndDenseJSArray = '$',
  kDate = 'D',
  kTrueObject = 'y',
  kFalseObject = 'x',
  kNumberObject = 'n',
  kBigIntObject = 'z',
  kStringObject = 's',
  kRegExp = 'R',
  kBeginJSMap = ';',
  kEndJSMap = ':',
  kBeginJSSet = '\'',
  kEndJSSet = ',',
  kArrayBuffer = 'B',
  kResizableArrayBuffer = '~',
  kArrayBufferView = 'V',
  kError = 'r',
  kHostObject = '\\',
};

// Sub-tags of an error (V8's ErrorTag).
enum ErrorTag : uint8_t {
  kEvalErrorPrototype = 'E',
  kRangeErrorPrototype = 'R',
  kReferenceErrorPrototype = 'F',
  kSyntaxErrorPrototype = 'S',
  kTypeErrorPrototype = 'T',
  kUriErrorPrototype = 'U',
  kErrorMessage = 'm',
  kErrorCause = 'c',
  kErrorStack = 's',
  kErrorEnd = '.',
};

bool IsViewSubtag(uint8_t tag) {
  switch (tag) {
    case 'b':  // Int8Array
    case 'B':  // Uint8Array
    case 'C':  // Uint8ClampedArray
    case 'w':  // Int16Array
    case 'W':  // Uint16Array
    case 'd':  // Int32Array
    case 'D':  // Uint32Array
    case 'f':  // Float32Array
    case 'F':  // Float64Array
    case 'q':  // BigInt64Array
    case 'Q':  // BigUint64Array
    case '?':  // DataView
      return true;
    default:
      return false;
  }
}

std::string Mib(uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

class Walker {
 public:
  Walker(std::string_view bytes, const CloneBytesLimits& limits)
      : data_(reinterpret_cast<const uint8_t*>(bytes.data())),
        end_(data_ + bytes.size()),
        position_(data_),
        limits_(limits) {}

  CloneBytesVerdict Run() {
    uint8_t tag = 0;
    uint32_t version = 0;
    if (!ReadByte(&tag) || tag != kVersion) {
      Malformed("no version header");
    } else if (!ReadVarint(&version) || version < 14 || version > 15) {
      Malformed("unsupported format version");
    } else {
      version_ = version;
      bool is_array_buffer = false;
      if (ReadObject(0, &is_array_buffer) && position_ != end_) Malformed("bytes after the value");
    }
    verdict_.estimated_bytes = cost_;
    return verdict_;
  }

 private:
  enum class IdKind : uint8_t { kOther, kArrayBuffer };

  bool Malformed(const char* what) {
    if (verdict_.ok()) {
      verdict_.kind = CloneBytesVerdict::Kind::kMalformed;
      verdict_.reason = std::string(what) + " at byte " + std::to_string(position_ - data_);
    }
    return false;
  }

  // Adds `bytes` to the estimate; false once it is over the budget.
  bool Charge(uint64_t bytes, const char* what) {
    cost_ += bytes;  // no overflow: each charge is below 2^36 and the walk stops once over
    if (cost_ <= limits_.allocation_budget) return true;
    if (verdict_.ok()) {
      verdict_.kind = CloneBytesVerdict::Kind::kTooLarge;
      verdict_.reason = std::string(what) + " brings what reading it back allocates to over " +
                        Mib(limits_.allocation_budget);
    }
    return false;
  }

  size_t Remaining() const { return static_cast<size_t>(end_ - position_); }

  bool ReadByte(uint8_t* out) {
    if (position_ == end_) return Malformed("value cut short");
    *out = *position_++;
    return true;
  }

  // A canonical base-128 varint of at most 32 bits. V8's readers of different versions differ
  // on longer encodings (some stop after five bytes, some read on), so those are refused.
  bool ReadVarint(uint32_t* out) {
    uint32_t value = 0;
    for (int i = 0; i < 5; ++i) {
      uint8_t byte = 0;
      if (!ReadByte(&byte)) return false;
      if (i == 4 && byte > 0x0F) return Malformed("varint out of range");
      value |= static_cast<uint32_t>(byte & 0x7F) << (7 * i);
      if (!(byte & 0x80)) {
        if (i > 0 && byte == 0) return Malformed("non-canonical varint");
        *out = value;
        return true;
      }
    }
    return Malformed("varint out of range");  // unreachable: the fifth byte is at most 0x0F
  }

  // The one-byte tags V8 reads as varint<uint8_t> (view and error sub-tags).
  bool ReadSubtag(uint8_t* out) {
    if (!ReadByte(out)) return false;
    if (*out & 0x80) return Malformed("sub-tag out of range");
    return true;
  }

  bool Skip(uint64_t length) {
    if (length > Remaining()) return Malformed("length past the end");
    position_ += length;
    return true;
  }

  // V8's ReadTag and PeekTag skip padding bytes (written to align two-byte strings).
  bool PeekTag(uint8_t* out) {
    const uint8_t* p = position_;
    while (p != end_ && *p == kPadding) ++p;
    if (p == end_) return Malformed("value cut short");
    *out = *p;
    return true;
  }
  bool ReadTag(uint8_t* out) {
    while (position_ != end_ && *position_ == kPadding) ++position_;
    return ReadByte(out);
  }

  uint32_t NewId(IdKind kind) {
    ids_.push_back(kind);
    return static_cast<uint32_t>(ids_.size() - 1);
  }

  // V8's ReadObject: one value, and a view if an ArrayBuffer is followed by one.
  bool ReadObject(uint32_t depth, bool* is_array_buffer) {
    if (depth > limits_.max_depth) {
      if (verdict_.ok()) {
        verdict_.kind = CloneBytesVerdict::Kind::kTooDeep;
        verdict_.reason = "nested deeper than " + std::to_string(limits_.max_depth) + " levels";
      }
      return false;
    }
    *is_array_buffer = false;
    if (!ReadObjectInternal(depth, is_array_buffer)) return false;
    if (!*is_array_buffer) return true;
    // Like V8, only a view tag after the buffer (padding skipped) continues the value.
    const uint8_t* p = position_;
    while (p != end_ && *p == kPadding) ++p;
    if (p == end_ || *p != kArrayBufferView) return true;
    uint8_t tag = 0;
    ReadTag(&tag);
    *is_array_buffer = false;
    return ReadView();
  }

  bool ReadView() {
    uint8_t subtag = 0;
    uint32_t byte_offset = 0, byte_length = 0, flags = 0;
    if (!ReadSubtag(&subtag) || !ReadVarint(&byte_offset) || !ReadVarint(&byte_length)) {
      return false;
    }
    if (!IsViewSubtag(subtag)) return Malformed("unknown view type");
    if (version_ >= 14 && !ReadVarint(&flags)) return false;
    NewId(IdKind::kOther);
    return Charge(kViewCost, "a typed array or DataView");
  }

  bool ReadObjectInternal(uint32_t depth, bool* is_array_buffer) {
    uint8_t tag = 0;
    if (!ReadTag(&tag)) return false;
    uint32_t u32 = 0;
    switch (tag) {
      case kUndefined:
      case kNull:
      case kTrue:
      case kFalse:
        return true;
      case kInt32:  // a Smi on 64-bit builds
        return ReadVarint(&u32);
      case kUint32:
        return ReadVarint(&u32) && Charge(kHeapNumberCost, "a number");
      case kDouble:
        return Skip(8) && Charge(kHeapNumberCost, "a number");
      case kBigInt:
        return ReadBigInt();
      case kOneByteString:
      case kTwoByteString:
        return ReadStringBody(tag);
      case kObjectReference:
        if (!ReadVarint(&u32)) return false;
        if (u32 >= ids_.size()) return Malformed("reference to an object not read yet");
        *is_array_buffer = ids_[u32] == IdKind::kArrayBuffer;
        return true;
      case kBeginJSObject:
        return ReadJSObject(depth);
      case kBeginSparseJSArray:
        return ReadSparseArray(depth);
      case kBeginDenseJSArray:
        return ReadDenseArray(depth);
      case kDate:
        if (!Skip(8)) return false;
        NewId(IdKind::kOther);
        return Charge(kDateCost, "a Date");
      case kTrueObject:
      case kFalseObject:
        NewId(IdKind::kOther);
        return Charge(kWrapperCost, "a Boolean object");
      case kNumberObject:
        NewId(IdKind::kOther);
        return Skip(8) && Charge(kWrapperCost + kHeapNumberCost, "a Number object");
      case kBigIntObject:
        NewId(IdKind::kOther);
        return ReadBigInt() && Charge(kWrapperCost, "a BigInt object");
      case kStringObject:
        NewId(IdKind::kOther);
        return ReadString() && Charge(kWrapperCost, "a String object");
      case kRegExp: {
        NewId(IdKind::kOther);
        size_t pattern_start = static_cast<size_t>(position_ - data_);
        if (!ReadString() || !ReadVarint(&u32)) return false;
        // The pattern is parsed when the RegExp is made; count it again for what that holds.
        uint64_t pattern_bytes = static_cast<uint64_t>(position_ - data_) - pattern_start;
        return Charge(kRegExpCost + 2 * pattern_bytes, "a RegExp");
      }
      case kBeginJSMap:
        return ReadCollection(depth, kEndJSMap, 2, kMapEntryCost, "a Map");
      case kBeginJSSet:
        return ReadCollection(depth, kEndJSSet, 1, kSetEntryCost, "a Set");
      case kArrayBuffer:
      case kResizableArrayBuffer: {
        NewId(IdKind::kArrayBuffer);
        uint32_t byte_length = 0;
        uint32_t max_byte_length = 0;
        if (!ReadVarint(&byte_length)) return false;
        max_byte_length = byte_length;
        if (tag == kResizableArrayBuffer) {
          if (!ReadVarint(&max_byte_length)) return false;
          if (byte_length > max_byte_length)
            return Malformed("ArrayBuffer longer than its maximum");
        }
        if (!Skip(byte_length)) return false;
        *is_array_buffer = true;
        // A resizable buffer reserves its maximum length.
        return Charge(kArrayBufferCost + max_byte_length, "an ArrayBuffer");
      }
      case kError:
        return ReadError(depth);
      case kHostObject:
        return ReadHostObject(depth);
      default:
        // The hole outside a dense array, the legacy UTF-8 string and object count, transfers,
        // shared buffers and objects, WebAssembly: never written by us.
        return Malformed("unsupported tag");
    }
  }

  // The host objects our writer emits (js/host_objects.h): kind 1, a Blob (the type, the
  // contents); kind 3, a copied Web API object (one nested value, read after the object's id is
  // taken, as V8 numbers them).
  bool ReadHostObject(uint32_t depth) {
    NewId(IdKind::kOther);
    uint32_t kind = 0, type_length = 0, length = 0;
    if (!ReadVarint(&kind)) return false;
    if (kind == 3) {
      bool is_array_buffer = false;
      return Charge(kCopiedCost, "a Web API object") && ReadObject(depth + 1, &is_array_buffer);
    }
    if (kind != 1) return Malformed("unknown host object");
    if (!ReadVarint(&type_length) || !Skip(type_length) || !ReadVarint(&length) || !Skip(length)) {
      return false;
    }
    return Charge(kBlobCost + 2 * uint64_t{type_length} + length, "a Blob");
  }

  bool ReadBigInt() {
    uint32_t bitfield = 0;
    if (!ReadVarint(&bitfield)) return false;
    // Bit 0 is the sign, the next 30 bits the length of the digits in bytes.
    if (bitfield >> 31) return Malformed("BigInt bitfield out of range");
    uint32_t byte_length = bitfield >> 1;
    if (byte_length % 8 != 0) return Malformed("BigInt digits not whole");
    return Skip(byte_length) && Charge(kBigIntHeaderCost + byte_length, "a BigInt");
  }

  // After the string's tag.
  bool ReadStringBody(uint8_t tag) {
    uint32_t byte_length = 0;
    if (!ReadVarint(&byte_length)) return false;
    if (tag == kTwoByteString && byte_length % 2 != 0) return Malformed("odd two-byte string");
    return Skip(byte_length) && Charge(kStringHeaderCost + byte_length, "a string");
  }

  // V8's ReadString (format 12 and later): one value, which must be a string.
  bool ReadString() {
    uint8_t tag = 0;
    if (!ReadTag(&tag)) return false;
    if (tag != kOneByteString && tag != kTwoByteString) return Malformed("string expected");
    return ReadStringBody(tag);
  }

  // A property key: V8 accepts only strings and numbers.
  bool ReadKey() {
    uint8_t tag = 0;
    if (!ReadTag(&tag)) return false;
    uint32_t u32 = 0;
    switch (tag) {
      case kOneByteString:
      case kTwoByteString:
        return ReadStringBody(tag);
      case kInt32:
        return ReadVarint(&u32);
      case kUint32:
        return ReadVarint(&u32) && Charge(kHeapNumberCost, "a number");
      case kDouble:
        return Skip(8) && Charge(kHeapNumberCost, "a number");
      default:
        return Malformed("property key is not a string or number");
    }
  }

  // Key/value pairs up to `end_tag`, then the property count V8 compares with theirs.
  bool ReadProperties(uint32_t depth, uint8_t end_tag, uint64_t cost_each, uint32_t* count) {
    *count = 0;
    for (;;) {
      uint8_t tag = 0;
      if (!PeekTag(&tag)) return false;
      if (tag == end_tag) {
        ReadTag(&tag);
        break;
      }
      bool is_array_buffer = false;
      if (!ReadKey() || !ReadObject(depth + 1, &is_array_buffer)) return false;
      if (!Charge(cost_each, "a property")) return false;
      ++*count;
    }
    uint32_t expected = 0;
    if (!ReadVarint(&expected)) return false;
    if (expected != *count) return Malformed("property count does not match");
    return true;
  }

  bool ReadJSObject(uint32_t depth) {
    NewId(IdKind::kOther);
    if (!Charge(kObjectCost, "an object")) return false;
    uint32_t count = 0;
    return ReadProperties(depth, kEndJSObject, kPropertyCost, &count);
  }

  bool ReadSparseArray(uint32_t depth) {
    uint32_t length = 0;
    if (!ReadVarint(&length)) return false;
    NewId(IdKind::kOther);
    uint64_t backing = length < kMaxFastArrayLength ? kSlot * length : 0;
    if (!Charge(kArrayCost + backing,
                ("a sparse array of length " + std::to_string(length)).c_str())) {
      return false;
    }
    return ReadArrayEnd(depth, kEndSparseJSArray, kDictionaryElementCost, length);
  }

  bool ReadDenseArray(uint32_t depth) {
    uint32_t length = 0;
    if (!ReadVarint(&length)) return false;
    // V8 refuses these too: every element takes at least one byte.
    if (length > kMaxFixedArrayLength || length > Remaining()) {
      return Malformed("dense array longer than the bytes left");
    }
    NewId(IdKind::kOther);
    if (!Charge(kArrayCost + kSlot * length,
                ("an array of length " + std::to_string(length)).c_str())) {
      return false;
    }
    for (uint32_t i = 0; i < length; ++i) {
      uint8_t tag = 0;
      if (!PeekTag(&tag)) return false;
      if (tag == kTheHole) {
        ReadTag(&tag);
        continue;
      }
      bool is_array_buffer = false;
      if (!ReadObject(depth + 1, &is_array_buffer)) return false;
    }
    return ReadArrayEnd(depth, kEndDenseJSArray, kPropertyCost, length);
  }

  // An array's named properties up to `end_tag`, then the length written again, which must be
  // the one it began with.
  bool ReadArrayEnd(uint32_t depth, uint8_t end_tag, uint64_t property_cost, uint32_t length) {
    uint32_t count = 0;
    uint32_t expected_length = 0;
    if (!ReadProperties(depth, end_tag, property_cost, &count) || !ReadVarint(&expected_length)) {
      return false;
    }
    if (expected_length != length) return Malformed("array length does not match");
    return true;
  }

  bool ReadCollection(uint32_t depth, uint8_t end_tag, uint32_t values_per_entry,
                      uint64_t entry_cost, const char* what) {
    NewId(IdKind::kOther);
    if (!Charge(kCollectionCost, what)) return false;
    uint32_t values = 0;
    for (;;) {
      uint8_t tag = 0;
      if (!PeekTag(&tag)) return false;
      if (tag == end_tag) {
        ReadTag(&tag);
        break;
      }
      for (uint32_t i = 0; i < values_per_entry; ++i) {
        bool is_array_buffer = false;
        if (!ReadObject(depth + 1, &is_array_buffer)) return false;
      }
      if (!Charge(entry_cost, what)) return false;
      values += values_per_entry;
    }
    uint32_t expected = 0;
    if (!ReadVarint(&expected)) return false;
    if (expected != values) return Malformed("entry count does not match");
    return true;
  }

  bool ReadError(uint32_t depth) {
    NewId(IdKind::kOther);
    if (!Charge(kErrorCost, "an error")) return false;
    uint8_t tag = 0;
    if (!ReadSubtag(&tag)) return false;
    switch (tag) {
      case kEvalErrorPrototype:
      case kRangeErrorPrototype:
      case kReferenceErrorPrototype:
      case kSyntaxErrorPrototype:
      case kTypeErrorPrototype:
      case kUriErrorPrototype:
        if (!ReadSubtag(&tag)) return false;
        break;
      default:
        break;
    }
    // Then message, cause and stack, each at most once, up to the end tag. V8 versions differ on
    // the order (this one writes the cause before the stack); a reader that wants another order
    // refuses the bytes after consuming the same fields, so any order is walked.
    bool seen_message = false, seen_stack = false, seen_cause = false;
    for (;;) {
      bool* seen = nullptr;
      switch (tag) {
        case kErrorEnd:
          return true;
        case kErrorMessage:
          seen = &seen_message;
          break;
        case kErrorStack:
          seen = &seen_stack;
          break;
        case kErrorCause:
          seen = &seen_cause;
          break;
        default:
          return Malformed("unknown error field");
      }
      if (*seen) return Malformed("repeated error field");
      *seen = true;
      bool is_array_buffer = false;
      if (tag == kErrorCause ? !ReadObject(depth + 1, &is_array_buffer) : !ReadString()) {
        return false;
      }
      if (!ReadSubtag(&tag)) return false;
    }
  }

  const uint8_t* const data_;
  const uint8_t* const end_;
  const uint8_t* position_;
  const CloneBytesLimits& limits_;
  uint32_t version_ = 0;
  uint64_t cost_ = 0;
  std::vector<IdKind> ids_;
  CloneBytesVerdict verdict_;
};

}  // namespace

CloneBytesVerdict CheckCloneBytes(std::string_view bytes, const CloneBytesLimits& limits) {
  return Walker(bytes, limits).Run();
}

}  // namespace dorm::js
