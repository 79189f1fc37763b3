#include "runtime/output_gate.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace dorm::runtime {

bool OutputGate::RequestFlush() {
  if (flush_in_flight_) {
    flush_again_ = true;
    return false;
  }
  flush_in_flight_ = true;
  return true;
}

bool OutputGate::CommittedUnchanged() {
  ++commit_seq_;
  if (flush_in_flight_ || durable_seq_ + 1 != commit_seq_) return false;
  durable_seq_ = commit_seq_;
  return true;
}

bool OutputGate::FlushSucceeded(uint64_t seq) {
  flush_in_flight_ = false;
  if (seq > durable_seq_) durable_seq_ = seq;
  const bool again = flush_again_;
  flush_again_ = false;
  return again;
}

void OutputGate::Emit(uint64_t required_seq, HttpResponseData&& response, ResponseCallback done) {
  if (durable_seq_ >= required_seq) {
    done(std::move(response));
    return;
  }
  held_responses_.push_back({required_seq, std::move(response), std::move(done)});
}

bool OutputGate::AdmitSocketOutput(SocketOutput output, bool uncommitted_writes) {
  output.required_seq = RequiredSeq(uncommitted_writes);
  if (durable_seq_ >= output.required_seq && held_socket_outputs_.empty()) return true;
  held_socket_outputs_.push_back(std::move(output));
  return false;
}

OutputGate::Released OutputGate::TakeReleased() {
  Released released;
  for (auto it = held_responses_.begin(); it != held_responses_.end();) {
    if (it->required_seq <= durable_seq_) {
      released.responses.push_back(std::move(*it));
      it = held_responses_.erase(it);
    } else {
      ++it;
    }
  }
  // In call order: a later output never overtakes an earlier one on the same socket.
  size_t count = 0;
  while (count < held_socket_outputs_.size() &&
         held_socket_outputs_[count].required_seq <= durable_seq_) {
    ++count;
  }
  if (count > 0) {
    auto end = held_socket_outputs_.begin() + static_cast<long>(count);
    released.socket_outputs.assign(std::make_move_iterator(held_socket_outputs_.begin()),
                                   std::make_move_iterator(end));
    held_socket_outputs_.erase(held_socket_outputs_.begin(), end);
  }
  // An object keeps its gate while it sits idle in memory: emptied queues give their storage back
  // (a held response is 264 bytes), at the cost of one allocation when the next output is held.
  if (held_responses_.empty()) std::vector<HeldResponse>().swap(held_responses_);
  if (held_socket_outputs_.empty()) std::vector<SocketOutput>().swap(held_socket_outputs_);
  return released;
}

uint64_t OutputGate::AddSyncWaiter(bool uncommitted_writes) {
  const uint64_t required = RequiredSeq(uncommitted_writes);
  if (durable_seq_ >= required) return 0;
  const uint64_t id = next_waiter_id_++;
  sync_waiters_.push_back({required, id});
  return id;
}

bool OutputGate::HasDurableWaiters() const {
  return std::any_of(sync_waiters_.begin(), sync_waiters_.end(),
                     [this](const SyncWaiter& w) { return w.required_seq <= durable_seq_; });
}

std::vector<uint64_t> OutputGate::TakeDurableWaiters() {
  std::vector<uint64_t> ids;
  for (auto it = sync_waiters_.begin(); it != sync_waiters_.end();) {
    if (it->required_seq <= durable_seq_) {
      ids.push_back(it->id);
      it = sync_waiters_.erase(it);
    } else {
      ++it;
    }
  }
  return ids;
}

std::vector<OutputGate::HeldResponse> OutputGate::TakeForReset() {
  std::vector<HeldResponse> responses = std::move(held_responses_);
  held_responses_.clear();
  held_socket_outputs_.clear();
  sync_waiters_.clear();
  return responses;
}

}  // namespace dorm::runtime
