// The chunk channel of a response whose body is a stream: the object's thread (the producer)
// passes the body's chunks, as the output gate releases them, to the connection's thread (the
// consumer), which writes them to the client as they come. The same channel carries a body
// through a stub's fetch(): the callee's answer to its caller's thread
// (thread_engine_stub_bodies.cc, the caller's code reading it as a ReadableStream), and a request
// body the caller streams to the callee (then without an output gate: the caller's code hands each
// chunk straight over).
//
// Backpressure: the producer reserves each chunk's bytes when the object's code hands it over
// (Reserve), before the gate holds it, and the consumer gives them back once written (Consumed).
// Past kHighWater reserved bytes the producer stops reading the object's stream until the consumer
// has brought them under kLowWater, when it calls the producer's wake-up. So a client that does
// not read makes the server hold at most about kHighWater bytes (plus one chunk) per response.
//
// Threading: every method may be called on any thread; the state is under one mutex. The wake-up
// functions are called without the mutex held, on the thread that caused them; they must only
// post work to their own thread (and must not call back into this object synchronously).
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>

namespace dorm::runtime {

class ResponseStream {
 public:
  static constexpr size_t kHighWater = 128u << 10;
  static constexpr size_t kLowWater = 32u << 10;

  // Why a body failed, for a consumer that rethrows it (a stub's fetch(): the caller's stream
  // errors with the callee's error class and message, or with the reset that ended the callee).
  // Empty name and message when the producer gave none.
  struct Failure {
    std::string name;
    std::string message;
    bool reset = false;
    // The failure is the client's (a client's upload broke or overran a limit), not a remote
    // object's: the reader's error is not marked `remote`.
    bool client = false;
    // The reader's error is marked `retryable` (a connection lost mid-body, as workerd's).
    bool retryable = false;
  };
  // A client's connection broke mid-body: workerd's `Network connection lost.` Error, retryable.
  static Failure ConnectionLost();

  // What the consumer takes at once: the bytes queued so far, and whether the body then ended
  // (normally, or failed: the connection must break without a proper end).
  struct Taken {
    std::string bytes;
    bool ended = false;
    bool failed = false;
    Failure failure;  // when failed
  };

  // --- Producer (the object's thread).
  // Called when the consumer has drained the buffer after Reserve() said to wait, or when it
  // cancelled. Set once, before the first Reserve().
  void SetProducerWake(std::function<void()> wake);
  // Accounts `n` bytes the producer will Push(). Returns false when the producer must wait for
  // its wake-up before reading more (the buffer is at the high-water mark) or the stream is
  // cancelled (see cancelled()).
  bool Reserve(size_t n);
  // Queues reserved bytes for the consumer. Dropped once cancelled.
  void Push(std::string bytes);
  // The body ended: `ok` false breaks the connection (`failure` says why). Later calls are
  // ignored.
  void Finish(bool ok) { Finish(ok, Failure()); }
  void Finish(bool ok, Failure failure);
  bool cancelled() const;

  // --- Consumer (the connection's thread).
  // Called when there is something to take after a Take() found nothing. Cleared by Cancel().
  void SetConsumerWake(std::function<void()> wake);
  // Everything queued. When it finds nothing and the body has not ended, the consumer's wake-up
  // is called on the next Push() or Finish().
  Taken Take();
  // `n` taken bytes were written: they no longer count against the high-water mark.
  void Consumed(size_t n);
  // The client is gone (or the response has no body, e.g. for HEAD): the producer stops.
  void Cancel();

 private:
  mutable std::mutex mutex_;
  std::string queued_;
  size_t reserved_ = 0;  // reserved and not yet consumed
  bool producer_waiting_ = false;
  bool consumer_waiting_ = false;
  bool finished_ = false;
  bool failed_ = false;
  bool cancelled_ = false;
  Failure failure_;
  std::function<void()> producer_wake_;
  std::function<void()> consumer_wake_;
};

}  // namespace dorm::runtime
