#include "runtime/embedded_source.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "js/strings.h"

namespace dorm::runtime {

namespace {

// Bytes of static storage seen by V8 as a one-byte string. V8 owns the resource (one per string)
// and disposes of it when the string dies; the bytes themselves are never freed.
class StaticOneByteSource final : public v8::String::ExternalOneByteStringResource {
 public:
  StaticOneByteSource(const char* data, std::size_t size) : data_(data), size_(size) {}
  const char* data() const override { return data_; }
  std::size_t length() const override { return size_; }

 private:
  const char* data_;
  std::size_t size_;
};

// The same over UTF-16 text that lives as long as the program (see Utf16Of).
class StaticTwoByteSource final : public v8::String::ExternalStringResource {
 public:
  explicit StaticTwoByteSource(const std::u16string* text) : text_(text) {}
  const uint16_t* data() const override { return reinterpret_cast<const uint16_t*>(text_->data()); }
  std::size_t length() const override { return text_->size(); }

 private:
  const std::u16string* text_;
};

// `data` decoded from UTF-8, once per process for each embedded source that is not ASCII (a
// character esbuild leaves in a comment), shared by every isolate of every thread. Never freed.
const std::u16string& Utf16Of(v8::Isolate* isolate, const char* data, std::size_t size) {
  static std::mutex mutex;
  static auto* decoded = new std::map<const char*, std::u16string>();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = decoded->find(data);
  if (it == decoded->end()) {
    v8::Local<v8::String> text = js::FromUtf8(isolate, std::string_view(data, size));
    std::u16string units(static_cast<std::size_t>(text->Length()), u'\0');
    text->Write(isolate, reinterpret_cast<uint16_t*>(units.data()), 0, text->Length(),
                v8::String::NO_NULL_TERMINATION);
    it = decoded->emplace(data, std::move(units)).first;
  }
  return it->second;
}

}  // namespace

v8::Local<v8::String> EmbeddedSource(v8::Isolate* isolate, const char* data, std::size_t size) {
  const bool ascii =
      std::all_of(data, data + size, [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  v8::Local<v8::String> text;
  if (ascii) {
    auto* resource = new StaticOneByteSource(data, size);
    if (v8::String::NewExternalOneByte(isolate, resource).ToLocal(&text)) return text;
    delete resource;  // not adopted
  } else {
    auto* resource = new StaticTwoByteSource(&Utf16Of(isolate, data, size));
    if (v8::String::NewExternalTwoByte(isolate, resource).ToLocal(&text)) return text;
    delete resource;  // not adopted
  }
  return js::FromUtf8(isolate, std::string_view(data, size));
}

}  // namespace dorm::runtime
