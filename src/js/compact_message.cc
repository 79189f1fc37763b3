#include "js/compact_message.h"

#include <cstring>
#include <vector>

#include "js/strings.h"

namespace dorm::js {
namespace {

// One tag byte per value; numbers are doubles (so -0 and NaN survive), strings keep V8's one- or
// two-byte representation, lists carry their length.
enum CompactTag : char {
  kCompactUndefined = 'U',
  kCompactNull = 'N',
  kCompactTrue = 'T',
  kCompactFalse = 'F',
  kCompactNumber = 'D',
  kCompactOneByteString = 'S',
  kCompactTwoByteString = 'W',
  kCompactList = 'L',
};

void PutU32(std::string& out, uint32_t n) {
  char bytes[4];
  std::memcpy(bytes, &n, 4);
  out.append(bytes, 4);
}

// Appends a primitive; false for anything else.
bool PutPrimitive(v8::Isolate* isolate, v8::Local<v8::Value> value, std::string& out) {
  if (value->IsUndefined()) {
    out.push_back(kCompactUndefined);
  } else if (value->IsNull()) {
    out.push_back(kCompactNull);
  } else if (value->IsTrue()) {
    out.push_back(kCompactTrue);
  } else if (value->IsFalse()) {
    out.push_back(kCompactFalse);
  } else if (value->IsNumber()) {
    const double number = value.As<v8::Number>()->Value();
    out.push_back(kCompactNumber);
    char bytes[8];
    std::memcpy(bytes, &number, 8);
    out.append(bytes, 8);
  } else if (value->IsString()) {
    v8::Local<v8::String> text = value.As<v8::String>();
    const int length = text->Length();
    const size_t at = out.size() + 5;
    if (text->IsOneByte()) {
      out.push_back(kCompactOneByteString);
      PutU32(out, static_cast<uint32_t>(length));
      out.resize(at + static_cast<size_t>(length));
      text->WriteOneByte(isolate, reinterpret_cast<uint8_t*>(out.data() + at), 0, length,
                         v8::String::NO_NULL_TERMINATION);
    } else {
      out.push_back(kCompactTwoByteString);
      PutU32(out, static_cast<uint32_t>(length));
      std::vector<uint16_t> units(static_cast<size_t>(length));
      text->Write(isolate, units.data(), 0, length, v8::String::NO_NULL_TERMINATION);
      out.append(reinterpret_cast<const char*>(units.data()), units.size() * 2);
    }
  } else {
    return false;
  }
  return true;
}

// Appends the list `value` (an Array of at most kCompactListMax elements, each a primitive, or,
// when `nested_first`, element 0 a runtime-made list of primitives); false otherwise.
bool PutList(v8::Isolate* isolate, v8::Local<v8::Context> context, v8::Local<v8::Value> value,
             bool nested_first, std::string& out) {
  if (!value->IsArray()) return false;
  v8::Local<v8::Array> list = value.As<v8::Array>();
  const uint32_t length = list->Length();
  if (length > kCompactListMax) return false;
  out.push_back(kCompactList);
  PutU32(out, length);
  for (uint32_t i = 0; i < length; ++i) {
    v8::Local<v8::Value> element;
    if (!list->Get(context, i).ToLocal(&element)) return false;
    const bool ok = i == 0 && nested_first ? PutList(isolate, context, element, false, out)
                                           : PutPrimitive(isolate, element, out);
    if (!ok) return false;
  }
  return true;
}

class Reader {
 public:
  Reader(v8::Isolate* isolate, std::string_view bytes) : isolate_(isolate), bytes_(bytes) {}

  bool AtEnd() const { return at_ == bytes_.size(); }

  // Reads one value; lists only while `depth` < 2 (the top list and one inside it).
  v8::MaybeLocal<v8::Value> Value(int depth) {
    if (at_ >= bytes_.size()) return {};
    const char tag = bytes_[at_++];
    switch (tag) {
      case kCompactUndefined:
        return v8::Undefined(isolate_);
      case kCompactNull:
        return v8::Null(isolate_);
      case kCompactTrue:
        return v8::True(isolate_);
      case kCompactFalse:
        return v8::False(isolate_);
      case kCompactNumber: {
        if (bytes_.size() - at_ < 8) return {};
        double number;
        std::memcpy(&number, bytes_.data() + at_, 8);
        at_ += 8;
        return v8::Number::New(isolate_, number);
      }
      case kCompactOneByteString:
      case kCompactTwoByteString: {
        uint32_t length;
        if (!U32(&length) || length > static_cast<uint32_t>(v8::String::kMaxLength)) return {};
        const size_t unit = tag == kCompactOneByteString ? 1 : 2;
        if ((bytes_.size() - at_) / unit < length) return {};
        const char* data = bytes_.data() + at_;
        at_ += size_t{length} * unit;
        v8::MaybeLocal<v8::String> text;
        if (tag == kCompactOneByteString) {
          text = v8::String::NewFromOneByte(isolate_, reinterpret_cast<const uint8_t*>(data),
                                            v8::NewStringType::kNormal, static_cast<int>(length));
        } else {
          std::vector<uint16_t> units(length);
          std::memcpy(units.data(), data, size_t{length} * 2);
          text = v8::String::NewFromTwoByte(isolate_, units.data(), v8::NewStringType::kNormal,
                                            static_cast<int>(length));
        }
        v8::Local<v8::String> made;
        if (!text.ToLocal(&made)) return {};
        return made;
      }
      case kCompactList: {
        uint32_t length;
        if (depth >= 2 || !U32(&length) || length > kCompactListMax) return {};
        v8::Local<v8::Value> elements[kCompactListMax];
        for (uint32_t i = 0; i < length; ++i) {
          if (!Value(depth + 1).ToLocal(&elements[i])) return {};
        }
        return v8::Array::New(isolate_, elements, length);
      }
      default:
        return {};
    }
  }

 private:
  bool U32(uint32_t* n) {
    if (bytes_.size() - at_ < 4) return false;
    std::memcpy(n, bytes_.data() + at_, 4);
    at_ += 4;
    return true;
  }

  v8::Isolate* isolate_;
  std::string_view bytes_;
  size_t at_ = 1;  // past kCompactMessageTag
};

}  // namespace

std::optional<std::string> EncodeCompactMessage(v8::Isolate* isolate,
                                                v8::Local<v8::Context> context,
                                                v8::Local<v8::Value> list,
                                                bool first_is_runtime_list) {
  std::string out(1, kCompactMessageTag);
  if (!PutList(isolate, context, list, first_is_runtime_list, out)) return std::nullopt;
  return out;
}

v8::MaybeLocal<v8::Value> DecodeCompactMessage(v8::Isolate* isolate, std::string_view bytes) {
  if (!IsCompactMessage(bytes)) {
    ThrowError(isolate, "Malformed RPC message.");
    return {};
  }
  Reader reader(isolate, bytes);
  v8::Local<v8::Value> value;
  if (!reader.Value(0).ToLocal(&value) || !value->IsArray() || !reader.AtEnd()) {
    if (!isolate->IsExecutionTerminating()) ThrowError(isolate, "Malformed RPC message.");
    return {};
  }
  return value;
}

}  // namespace dorm::js
