#include "runtime/brotli_stream.h"

namespace dorm::runtime {

std::unique_ptr<BrotliStream> BrotliStream::Create(bool compress, js::ByteBudget* budget,
                                                   MemoryHooks hooks) {
  std::unique_ptr<BrotliStream> stream(new BrotliStream(compress, budget, std::move(hooks)));
  if (compress) {
    if (!stream->memory_.ReserveCollecting(kEncoderReserve)) return nullptr;
    stream->charged_ = kEncoderReserve;
    stream->encoder_ = BrotliEncoderCreateInstance(&Alloc, &Free, stream.get());
    if (!stream->encoder_ ||
        !BrotliEncoderSetParameter(stream->encoder_, BROTLI_PARAM_QUALITY, kQuality) ||
        !BrotliEncoderSetParameter(stream->encoder_, BROTLI_PARAM_LGWIN, kWindowBits)) {
      return nullptr;
    }
  } else {
    stream->decoder_ = BrotliDecoderCreateInstance(&Alloc, &Free, stream.get());
    if (!stream->decoder_) return nullptr;
  }
  return stream;
}

BrotliStream::BrotliStream(bool compress, js::ByteBudget* budget, MemoryHooks hooks)
    : compress_(compress), memory_(budget, std::move(hooks)) {}

BrotliStream::~BrotliStream() {
  if (encoder_) BrotliEncoderDestroyInstance(encoder_);
  if (decoder_) BrotliDecoderDestroyInstance(decoder_);
  memory_.budget()->Release(charged_);
}

void BrotliStream::SetInput(std::string bytes) {
  input_ = std::move(bytes);
  next_in_ = reinterpret_cast<const uint8_t*>(input_.data());
  available_in_ = input_.size();
}

size_t BrotliStream::Pump(bool finish, uint8_t* out, size_t capacity, const char** error) {
  *error = nullptr;
  if (failed_) {
    *error = compress_ ? "Compression failed." : "Decompression failed.";
    return 0;
  }
  size_t available_out = capacity;
  uint8_t* next_out = out;
  if (compress_) {
    // BROTLI_OPERATION_PROCESS buffers what it takes; FINISH writes the last block. The encoder
    // is done once it has finished and holds no more output.
    while (available_out > 0 && !ended_) {
      const BrotliEncoderOperation op = finish ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS;
      const size_t out_before = available_out;
      const size_t in_before = available_in_;
      if (!BrotliEncoderCompressStream(encoder_, op, &available_in_, &next_in_, &available_out,
                                       &next_out, nullptr)) {
        failed_ = true;
        *error = "Compression failed.";
        break;
      }
      if (finish && BrotliEncoderIsFinished(encoder_)) ended_ = true;
      const bool progress = available_out != out_before || available_in_ != in_before;
      if (!progress && !BrotliEncoderHasMoreOutput(encoder_)) break;
    }
  } else {
    while (available_out > 0) {
      if (ended_) {
        // After the end of the compressed data, any more input is trailing data.
        if (available_in_ > 0) {
          failed_ = true;
          *error = "Trailing bytes after end of compressed data";
        }
        break;
      }
      const BrotliDecoderResult result = BrotliDecoderDecompressStream(
          decoder_, &available_in_, &next_in_, &available_out, &next_out, nullptr);
      if (result == BROTLI_DECODER_RESULT_ERROR) {
        failed_ = true;
        *error = "Decompression failed.";
        break;
      }
      if (result == BROTLI_DECODER_RESULT_SUCCESS) {
        ended_ = true;
        continue;  // to check for trailing input
      }
      if (result == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
        // Finishing, input that ends before the data does is an error once its output is out.
        if (finish && next_out == out) {
          failed_ = true;
          *error = "Called close() on a decompression stream with incomplete data";
        }
        break;
      }
      // BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: the loop ends when `out` is full.
    }
  }
  if (available_in_ == 0) {
    input_.clear();
    next_in_ = nullptr;
  }
  return capacity - available_out;
}

void* BrotliStream::Alloc(void* opaque, size_t size) {
  auto* self = static_cast<BrotliStream*>(opaque);
  if (!self->compress_) return self->memory_.Allocate(size);
  // Never refused (see kEncoderReserve): charged beyond the reservation when the budget allows.
  size_t taken = 0;
  void* address = self->memory_.AllocateUncharged(size, &taken);
  if (!address) return nullptr;
  self->held_ += taken;
  if (self->held_ > self->charged_ &&
      self->memory_.budget()->TryReserve(self->held_ - self->charged_)) {
    self->charged_ = self->held_;
  }
  return address;
}

void BrotliStream::Free(void* opaque, void* address) {
  if (!address) return;
  auto* self = static_cast<BrotliStream*>(opaque);
  if (!self->compress_) {
    self->memory_.Free(address);
    return;
  }
  // The charge stays until the stream ends (the destructor gives it back).
  self->held_ -= self->memory_.FreeUncharged(address);
}

}  // namespace dorm::runtime
