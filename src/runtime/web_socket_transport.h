// The runtime's view of one accepted WebSocket connection. The network front implements it; the
// runtime holds it in the socket's record and drives it from the object's thread.
//
// Threading: created, used and destroyed on the runtime thread that owns the object (the network
// front moves the connection to that thread when it upgrades). Methods never block.
#pragma once

#include <memory>
#include <string>

namespace dorm::runtime {

// A message's payload, shared so that one broadcast string is not copied per recipient.
using SharedPayload = std::shared_ptr<const std::string>;

class WebSocketTransport {
 public:
  virtual ~WebSocketTransport() = default;

  // Queues one message (a text message must hold valid UTF-8). Messages leave in call order. If
  // the peer does not read and the queue passes the connection's limit, the connection is closed
  // with 1013 and the runtime is told through WebSocketEvents::OnClosed.
  virtual void Send(bool text, SharedPayload payload) = 0;
  // Starts the close handshake after the queued messages. Only the first call counts, except that
  // a connection awaiting its answer to the peer's Close (AwaitsCloseAnswer) sends `code` and
  // `reason` as that answer.
  virtual void Close(int code, const std::string& reason) = 0;
  // The peer's Close has arrived and the connection waits for Close() to answer it; without one
  // it echoes the peer's code and reason after its handshake timeout.
  virtual bool AwaitsCloseAnswer() const = 0;
};

}  // namespace dorm::runtime
