// The streams an RPC message carries: each ReadableStream passed as an argument or returned in a
// result goes as the channel of a ResponseStream (js/runtime/stub_bodies.js pumps the sender's
// stream into it; the receiver adopts it as a stub body and reads it as a ReadableStream), in the
// order of the message's stream markers (js/runtime/rpc_values.js).
//
// The list travels with the message (AppIsolate::StagedMessage, OutgoingCall, RpcEvent,
// HttpResponseData) across threads; the receiver takes the streams with Release(). A message
// dropped on the way (its object gone, its caller reset, an answer nobody waits for) cancels the
// streams still in its list when the last reference goes, so that their senders stop instead of
// waiting for a reader forever.
//
// Threading: Release() on one thread at a time (whoever holds the message); the destructor on any
// thread (ResponseStream::Cancel is thread-safe).
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "runtime/http_message.h"
#include "runtime/response_stream.h"

namespace dorm::runtime {

class RpcStreamList {
 public:
  explicit RpcStreamList(std::vector<std::shared_ptr<ResponseStream>> streams)
      : streams_(std::move(streams)) {}
  RpcStreamList(const RpcStreamList&) = delete;
  RpcStreamList& operator=(const RpcStreamList&) = delete;
  ~RpcStreamList() {
    for (const std::shared_ptr<ResponseStream>& stream : streams_) stream->Cancel();
  }

  // The streams, now the caller's to consume or cancel; the list is empty afterwards.
  std::vector<std::shared_ptr<ResponseStream>> Release() { return std::exchange(streams_, {}); }

 private:
  std::vector<std::shared_ptr<ResponseStream>> streams_;
};

}  // namespace dorm::runtime
