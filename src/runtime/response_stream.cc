#include "runtime/response_stream.h"

#include <utility>

namespace dorm::runtime {

void ResponseStream::SetProducerWake(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mutex_);
  producer_wake_ = std::move(wake);
}

bool ResponseStream::Reserve(size_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancelled_) return false;
  reserved_ += n;
  if (reserved_ < kHighWater) return true;
  producer_waiting_ = true;
  return false;
}

void ResponseStream::Push(std::string bytes) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_ || finished_ || bytes.empty()) return;
    queued_ += bytes;
    if (consumer_waiting_) {
      consumer_waiting_ = false;
      wake = consumer_wake_;
    }
  }
  if (wake) wake();
}

void ResponseStream::Finish(bool ok, Failure failure) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_ || finished_) return;
    finished_ = true;
    failed_ = !ok;
    if (!ok) failure_ = std::move(failure);
    if (consumer_waiting_) {
      consumer_waiting_ = false;
      wake = consumer_wake_;
    }
  }
  if (wake) wake();
}

ResponseStream::Failure ResponseStream::ConnectionLost() {
  Failure failure;
  failure.name = "Error";
  failure.message = "Network connection lost.";
  failure.client = true;
  failure.retryable = true;
  return failure;
}

bool ResponseStream::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
}

void ResponseStream::SetConsumerWake(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mutex_);
  consumer_wake_ = std::move(wake);
}

ResponseStream::Taken ResponseStream::Take() {
  std::lock_guard<std::mutex> lock(mutex_);
  Taken taken;
  taken.bytes = std::move(queued_);
  queued_.clear();
  taken.ended = finished_;
  taken.failed = failed_;
  if (failed_) taken.failure = failure_;
  if (taken.bytes.empty() && !finished_) consumer_waiting_ = true;
  return taken;
}

void ResponseStream::Consumed(size_t n) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reserved_ = n > reserved_ ? 0 : reserved_ - n;
    if (producer_waiting_ && reserved_ < kLowWater) {
      producer_waiting_ = false;
      wake = producer_wake_;
    }
  }
  if (wake) wake();
}

void ResponseStream::Cancel() {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return;
    cancelled_ = true;
    queued_.clear();
    queued_.shrink_to_fit();
    consumer_wake_ = nullptr;
    wake = producer_wake_;
  }
  if (wake) wake();
}

}  // namespace dorm::runtime
