#include "runtime/zlib_stream.h"

#include <algorithm>
#include <limits>

namespace dorm::runtime {

std::unique_ptr<ZlibStream> ZlibStream::Create(bool compress, std::string_view format,
                                               js::ByteBudget* budget, MemoryHooks hooks) {
  int window_bits;
  if (format == "gzip") {
    window_bits = 15 + 16;  // a gzip header and trailer
  } else if (format == "deflate") {
    window_bits = 15;  // a zlib header and trailer
  } else if (format == "deflate-raw") {
    window_bits = -15;  // no framing
  } else {
    return nullptr;
  }
  std::unique_ptr<ZlibStream> stream(new ZlibStream(compress, budget, std::move(hooks)));
  const int result = compress ? deflateInit2(&stream->z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                                             window_bits, 8, Z_DEFAULT_STRATEGY)
                              : inflateInit2(&stream->z_, window_bits);
  if (result != Z_OK) return nullptr;
  stream->initialized_ = true;
  return stream;
}

ZlibStream::ZlibStream(bool compress, js::ByteBudget* budget, MemoryHooks hooks)
    : compress_(compress), memory_(budget, std::move(hooks)) {
  std::memset(&z_, 0, sizeof z_);
  z_.zalloc = &Alloc;
  z_.zfree = &Free;
  z_.opaque = this;
}

ZlibStream::~ZlibStream() {
  if (initialized_) compress_ ? deflateEnd(&z_) : inflateEnd(&z_);
}

void ZlibStream::SetInput(std::string bytes) {
  input_ = std::move(bytes);
  z_.next_in = reinterpret_cast<Bytef*>(input_.data());
  z_.avail_in = static_cast<uInt>(input_.size());
}

size_t ZlibStream::Pump(bool finish, Bytef* out, size_t capacity, const char** error) {
  *error = nullptr;
  size_t produced = 0;
  while (produced < capacity) {
    if (ended_) {
      // After the end of the compressed data, any more input is trailing data.
      if (!compress_ && z_.avail_in > 0) *error = "Trailing bytes after end of compressed data";
      break;
    }
    z_.next_out = out + produced;
    z_.avail_out =
        static_cast<uInt>(std::min<size_t>(capacity - produced, std::numeric_limits<uInt>::max()));
    const uInt offered = z_.avail_out;
    const int flush = finish ? Z_FINISH : Z_NO_FLUSH;
    const int result = compress_ ? deflate(&z_, flush) : inflate(&z_, flush);
    const size_t made = offered - z_.avail_out;
    produced += made;
    if (result != Z_OK && result != Z_BUF_ERROR && result != Z_STREAM_END) {
      *error = compress_ ? "Compression failed." : "Decompression failed.";
      break;
    }
    if (result == Z_STREAM_END) {
      ended_ = true;
      continue;  // to check for trailing input
    }
    if (result == Z_BUF_ERROR) {
      // No progress possible: more input is needed (or, finishing, the input ended too soon).
      if (finish && made == 0) {
        *error = compress_ ? "Compression failed."
                           : "Called close() on a decompression stream with incomplete data";
      }
      break;
    }
    if (made == 0 && z_.avail_in == 0 && !finish) break;
  }
  if (z_.avail_in == 0) input_.clear();
  return produced;
}

void* ZlibStream::Alloc(void* opaque, uInt items, uInt size) {
  return static_cast<ZlibStream*>(opaque)->memory_.Allocate(static_cast<size_t>(items) * size);
}

void ZlibStream::Free(void* opaque, void* address) {
  static_cast<ZlibStream*>(opaque)->memory_.Free(address);
}

}  // namespace dorm::runtime
