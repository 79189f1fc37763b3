// One accepted WebSocket connection (RFC 6455 framing by Boost.Beast), bound to a socket record of
// the object runtime. It completes the handshake with the object's response headers, turns frames
// into runtime events, and writes the object's messages with a bounded queue.
//
// Messages are written in batches: a Send only queues, and the queue is written, every message
// framed, in one system call once the event loop has run what was ready (other clients' messages
// among them). A broadcast to many clients so costs one write per client per batch rather than
// one per message per client. Beast still writes the handshake answer, pongs and Close frames,
// between batches (SerializedWriteSocket).
//
// Closing. When the object closes, the peer's answering Close is what the object's close handler
// hears (code, reason, clean). When the peer closes first, the connection holds its answer
// (AwaitsCloseAnswer) until the runtime gives one through Close(): the object's close handler may
// close with its own code and reason, or the peer's are echoed; if no answer comes within the
// handshake timeout, the peer's Close is echoed anyway.
//
// Incoming messages. A message longer than the inline first chunk grows a buffer as its bytes
// arrive, never beyond max_message_bytes (a larger one is refused with 1009), and the buffers of
// all connections' unfinished messages share a server-wide budget (past it, the connection is
// closed with 1013). An unfinished message must progress every message_timeout, or the connection
// is dropped: a client cannot hold memory by stopping half-way.
//
// Idle connections are many (a hibernated object's sockets stay open for days), so between
// messages a connection holds as little as it can: no read buffer, no write queue, no close state,
// and, when Beast's stream has no unread bytes, no read of Beast's pending either: it waits for the
// socket to become readable (a small wait) and starts Beast's read then. A client's Ping arriving
// alone then is answered here and the connection waits again: Beast's read would answer it too,
// but would stay pending until the client's next message.
//
// Threading: lives on the event loop of the runtime thread that owns the object; every method and
// handler runs there. Owned by its pending asynchronous operations and by the runtime's record.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/frame_boundary_tracker.h"
#include "net/serialized_write_socket.h"
#include "net/web_socket_frame.h"
#include "net/web_socket_options.h"
#include "runtime/http_message.h"
#include "runtime/thread_engine.h"
#include "runtime/web_socket_transport.h"

namespace dorm::net {

class WebSocketConnection : public runtime::WebSocketTransport,
                            public SerializedWriteSocket::Observer,
                            public std::enable_shared_from_this<WebSocketConnection> {
 public:
  WebSocketConnection(boost::asio::ip::tcp::socket socket, runtime::ThreadEngine* engine,
                      uint64_t socket_id, const WebSocketOptions& options);
  ~WebSocketConnection() override;

  // Answers the upgrade `request` (101, with the object's `response_headers` such as
  // Sec-WebSocket-Protocol), then attaches to the runtime's socket and starts reading.
  void Start(boost::beast::http::request<boost::beast::http::string_body> request,
             const runtime::HeaderList& response_headers);

  void Send(bool text, runtime::SharedPayload payload) override;
  void Close(int code, const std::string& reason) override;
  bool AwaitsCloseAnswer() const override { return peer_close_held_; }

  // SerializedWriteSocket::Observer
  void OnStreamIdle() override;
  void OnBytesRead(const uint8_t* data, size_t size) override { frames_.Consume(data, size); }

  // Connections alive in the process (for a shutdown that waits for close frames to leave).
  static size_t LiveCount() { return live_count_.load(); }
  // Bytes held by all connections for messages still arriving (see max_incoming_bytes).
  static size_t IncomingBytes() { return incoming_bytes_.load(); }

 private:
  void OnAccepted(boost::beast::error_code ec);
  // Reads the next message: its first bytes into first_chunk_, the rest (if any) into
  // read_buffer_, which ReadMore grows as they arrive. OnReadFailed reports the end. Waits for the
  // socket to be readable first if Beast holds no unread bytes (see frames_).
  void Read();
  void ReadFirstChunk();
  void OnReadable();
  // If the bytes waiting on the socket are exactly one Ping of the client's, and nothing of ours is
  // being written, takes them off the socket and queues the Pong; true if so. Otherwise leaves
  // them to Beast's read.
  bool AnswerIdlePing();
  // Starts Beast's read now if the connection waits for the socket instead: Beast's close
  // handshake expects a read of the connection's to be pending.
  void EndIdleWait();
  void OnFirstChunk(boost::beast::error_code ec, size_t n);
  void ReadMore();
  void OnMoreRead(boost::beast::error_code ec, size_t n);
  // A whole message read: handed to the object, then the next one is read; or, if it is text
  // that ends inside a UTF-8 character (which Beast lets through when the last fragment is
  // empty), the connection fails with 1007 as Beast fails it for any other invalid UTF-8.
  void Deliver(bool text, std::string message);
  using ReadCallback = void (WebSocketConnection::*)(boost::beast::error_code ec, size_t n);
  // Reads what has arrived of the current message into `into`, then calls `then`.
  void ReadSome(boost::asio::mutable_buffer into, ReadCallback then);
  void OnReadFailed(boost::beast::error_code ec);
  // Grows read_buffer_'s capacity to `capacity`, taken from the server-wide budget first. False
  // (and nothing changed) if the budget cannot give it.
  bool GrowReadBuffer(size_t capacity);
  // Frees read_buffer_ and gives its bytes back to the budget.
  void ReleaseReadBuffer();
  // Arms or disarms the message timeout (Beast's idle timeout, re-armed by each read).
  void SetMessageTimeout(bool on);
  // A message that does not fit the server-wide budget: closes with 1013.
  void RefuseOverBudget();
  // Beast read the peer's Close (its control callback, just before Beast answers it).
  void OnPeerClose();
  // Answers the held peer's Close with `code` and `reason`.
  void AnswerPeerClose(int code, const std::string& reason);
  void OnClosed(boost::beast::error_code ec);
  // Writes every queued message in one batch, or, if none is left, ends the writing (and starts
  // a requested close). Waits while Beast writes a control frame.
  void WriteNext();
  void OnWritten(boost::beast::error_code ec);
  // Forgets the messages not yet handed to the socket; the batch under way is kept alive.
  void DropUnsent();
  // Forgets every queued message and frees the queue's and the batch's memory: idle connections
  // are many. Only while no batch is being written.
  void ReleaseBuffers();
  void StartClose();
  // After a handshake timeout: answers a held peer's Close by echoing it (and waits once more);
  // drops the TCP connection if our Close has not gone out (it cannot while a write is stuck
  // behind a client that does not read), or if the peer keeps it open after the Closes.
  void ArmCloseDeadline();
  void OnCloseDeadline();
  class CloseDeadlineHandler;
  // Reports the end of the connection to the runtime, once.
  void Finish(int code, const std::string& reason, bool clean);

  // A message waiting to be written, with its frame header made when it was queued; or a whole
  // Pong frame as the payload, with no header (AnswerIdlePing).
  struct QueuedMessage {
    runtime::SharedPayload payload;
    std::array<uint8_t, kMaxServerFrameHeaderBytes> header;
    uint8_t header_size;
  };
  // The messages to write, from the first Send until the queue runs empty.
  struct Outgoing {
    // Messages not yet written, from queue_head on; those before batch_end are being written. A
    // vector rather than a deque: a deque allocates over half a KiB up front.
    std::vector<QueuedMessage> queue;
    size_t queue_head = 0;
    size_t batch_end = 0;
    size_t queued_bytes = 0;  // payload bytes of the messages from queue_head on
    // The batch being written: headers and small payloads copied together, large payloads by
    // reference (queue keeps them alive until the batch is written).
    std::string batch_bytes;
    std::vector<boost::asio::const_buffer> batch_buffers;
  };
  // What closing needs, made by the first close of either side.
  struct Closing {
    explicit Closing(const boost::asio::any_io_executor& executor) : deadline(executor) {}
    boost::beast::websocket::close_reason reason;  // ours, sent by StartClose
    int peer_code = 1005;
    std::string peer_reason;
    boost::asio::steady_timer deadline;
  };
  Closing& closing();
  size_t QueuedBytes() const { return out_ ? out_->queued_bytes : 0; }

  // Without permessage-deflate (never negotiated): the stream then carries no zlib state, and
  // Beast's deflate code paths are not compiled.
  boost::beast::websocket::stream<SerializedWriteSocket, /*deflateSupported=*/false> ws_;
  runtime::ThreadEngine* engine_;
  uint64_t socket_id_;
  WebSocketOptions options_;
  // Most messages (chat lines, small JSON) fit whole; held inline, so an idle connection costs
  // these bytes rather than a heap buffer.
  std::array<char, 128> first_chunk_;
  // The client's frames as far as read, and the messages Beast completed: when every final frame
  // read was completed and the bytes end with one, Beast's buffer is empty.
  FrameBoundaryTracker frames_;
  uint64_t messages_read_ = 0;
  // The message under way, if longer than first_chunk_; null between messages. Its capacity is
  // held against incoming_bytes_.
  std::unique_ptr<boost::beast::flat_buffer> read_buffer_;
  size_t reserved_bytes_ = 0;
  std::unique_ptr<Outgoing> out_;     // null while nothing is queued
  std::unique_ptr<Closing> closing_;  // null until either side closes
  bool idle_waiting_ = false;         // Read() waits for the socket to be readable
  bool idle_wait_pending_ = false;    // ... and its wait has not completed (it may be stale)
  bool message_timeout_on_ = false;
  bool writing_ = false;             // from the first queued message until the queue runs empty
  bool waiting_for_stream_ = false;  // a batch waits for a control frame of Beast's
  bool open_ = false;                // handshake done, not yet closed
  bool close_requested_ = false;
  bool close_started_ = false;
  bool close_op_pending_ = false;  // Beast's async_close is under way
  bool peer_closed_ = false;       // Beast read the peer's Close
  bool peer_close_held_ = false;   // ... and its answer waits for Close()
  bool read_ended_ = false;        // the read loop has reported the end
  bool finished_ = false;
  static std::atomic<size_t> live_count_;
  static std::atomic<size_t> incoming_bytes_;
};

}  // namespace dorm::net
