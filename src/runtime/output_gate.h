// An object's output gate: nothing the object sends (a response, a WebSocket message or close)
// leaves before the writes made before it are durable, so that no one ever sees the effect of a
// write that a crash could still undo.
//
// The object's commits are numbered 1, 2, ... (`commit_seq`); a flush makes every commit up to
// a number durable (`durable_seq`). An output records the commit it needs (RequiredSeq: the last
// commit, or the next one while a transaction holds uncommitted writes) and is held until that
// commit is durable. storage.sync() is a waiter for the same condition. One flush runs at a time;
// commits made while it runs are flushed by the next (RequestFlush / FlushSucceeded).
//
// If a flush fails, nothing held is ever released: the object is reset, its held responses fail
// and its held socket outputs and sync waiters are dropped (TakeForReset).
//
// Pure bookkeeping: no V8, no I/O. Threading: owned by one ObjectInstance, used on its thread.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/http_message.h"
#include "runtime/web_socket_transport.h"

namespace dorm::runtime {

class OutputGate {
 public:
  // A WebSocket send or close, waiting for the commits made before it.
  struct SocketOutput {
    uint64_t required_seq = 0;
    uint64_t socket_id = 0;
    bool close = false;
    bool text = false;
    SharedPayload payload;  // the message, or the close reason
    int code = 0;
    // Set for a streamed response body (socket_id is then the stream's id, see
    // ThreadEngine::response_streams_): payload is a chunk of it, or `close` its end (code 0:
    // ended, else failed).
    std::shared_ptr<ResponseStream> response_stream;
  };
  struct HeldResponse {
    uint64_t required_seq = 0;
    HttpResponseData response;
    ResponseCallback done;
  };
  // What a durable commit released, in the order the object made it.
  struct Released {
    std::vector<HeldResponse> responses;
    std::vector<SocketOutput> socket_outputs;  // in call order
  };

  uint64_t commit_seq() const { return commit_seq_; }
  uint64_t durable_seq() const { return durable_seq_; }
  // The commit an output made now must wait for. `uncommitted_writes`: a transaction holds writes
  // that its coming commit will make durable.
  uint64_t RequiredSeq(bool uncommitted_writes) const {
    return commit_seq_ + (uncommitted_writes ? 1 : 0);
  }
  // A commit happened; returns its number.
  uint64_t Committed() { return ++commit_seq_; }
  // A commit that wrote nothing happened (its transaction changed no page): it is durable as soon
  // as every commit before it is. Returns true if that is so now (nothing before it awaits a
  // flush, and none runs): it is then durable, and the caller releases what it allows
  // (TakeReleased, TakeDurableWaiters). Returns false otherwise: the caller then asks for a flush
  // as for any commit (RequestFlush), which makes it durable with the commits before it.
  bool CommittedUnchanged();

  // --- Flushes ---
  // Asks for the commits so far to be flushed. Returns true if the caller must start a flush of
  // commit_seq() now; false if one is running already (the commits wait for the next one, which
  // FlushSucceeded asks for).
  bool RequestFlush();
  // The flush started for commits up to `seq` succeeded. Returns true if commits were made while
  // it ran: the caller must call RequestFlush() again (which then returns true).
  bool FlushSucceeded(uint64_t seq);
  // The flush failed; the caller resets the object (TakeForReset).
  void FlushFailed() { flush_in_flight_ = false; }
  bool flush_in_flight() const { return flush_in_flight_; }

  // --- Outputs ---
  // Sends `response` through `done` now if what it needs is durable, else holds it.
  void Emit(uint64_t required_seq, HttpResponseData&& response, ResponseCallback done);
  // Decides on a socket output made now: returns true if it must be sent now; false if it is held
  // (what it needs is not durable, or an earlier output of the object is still held: outputs never
  // overtake each other).
  bool AdmitSocketOutput(SocketOutput output, bool uncommitted_writes);
  // The held outputs that durable_seq() now allows, removed from the gate.
  Released TakeReleased();

  // --- storage.sync() ---
  // A waiter for what is written so far. Returns 0 if it is durable already (resolve at once),
  // else the waiter's id, which TakeDurableWaiters() returns once it is.
  uint64_t AddSyncWaiter(bool uncommitted_writes);
  bool HasDurableWaiters() const;
  // The ids of the waiters whose commit is durable, removed from the gate, in the order added.
  std::vector<uint64_t> TakeDurableWaiters();
  bool HasWaiters() const { return !sync_waiters_.empty(); }

  // Everything held, for a reset: the responses (to be failed by the caller); socket outputs and
  // waiters are dropped with the commits they waited for.
  std::vector<HeldResponse> TakeForReset();

  // Nothing held, no waiter and no flush running.
  bool Quiet() const {
    return held_responses_.empty() && held_socket_outputs_.empty() && sync_waiters_.empty() &&
           !flush_in_flight_;
  }
  size_t held_count() const { return held_responses_.size() + held_socket_outputs_.size(); }

 private:
  uint64_t commit_seq_ = 0;
  uint64_t durable_seq_ = 0;
  bool flush_in_flight_ = false;
  bool flush_again_ = false;
  std::vector<HeldResponse> held_responses_;
  std::vector<SocketOutput> held_socket_outputs_;
  struct SyncWaiter {
    uint64_t required_seq;
    uint64_t id;
  };
  std::vector<SyncWaiter> sync_waiters_;
  uint64_t next_waiter_id_ = 1;
};

}  // namespace dorm::runtime
