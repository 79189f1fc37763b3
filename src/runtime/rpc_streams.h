// The streams an RPC message carries, in the order of the message's stream markers
// (js/runtime/rpc_values.js), each the channel of a ResponseStream: a ReadableStream passed as an
// argument or returned in a result (the sender pumps its stream into the channel; the receiver
// adopts it as a stub body and reads it as a ReadableStream), or a WritableStream (`writable`:
// the other way round, the receiver produces into the channel through a WritableStream of its
// own, and the sender, which already consumes it as a stub body, writes what comes to its stream;
// js/runtime/stub_bodies.js).
//
// The list travels with the message (AppIsolate::StagedMessage, OutgoingCall, RpcEvent,
// HttpResponseData) across threads; the receiver takes the streams with Release(). A message
// dropped on the way (its object gone, its caller reset, an answer nobody waits for) ends the
// streams still in its list when the last reference goes: a readable one is cancelled, so that
// its sender stops instead of waiting for a reader forever; a writable one fails, so that its
// sender's stream is aborted.
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

struct RpcChannel {
  std::shared_ptr<ResponseStream> stream;
  bool writable = false;  // a WritableStream's: the receiver produces, the sender consumes
};

class RpcStreamList {
 public:
  explicit RpcStreamList(std::vector<RpcChannel> channels) : channels_(std::move(channels)) {}
  RpcStreamList(const RpcStreamList&) = delete;
  RpcStreamList& operator=(const RpcStreamList&) = delete;
  ~RpcStreamList() {
    for (const RpcChannel& channel : channels_) {
      if (channel.writable) {
        channel.stream->Finish(false);
      } else {
        channel.stream->Cancel();
      }
    }
  }

  // The channels, now the receiver's to adopt; the list is empty afterwards.
  std::vector<RpcChannel> Release() { return std::exchange(channels_, {}); }

 private:
  std::vector<RpcChannel> channels_;
};

}  // namespace dorm::runtime
