#include "net/web_socket_connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <string_view>

#include "util/log.h"

namespace dorm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

std::atomic<size_t> WebSocketConnection::live_count_{0};
std::atomic<size_t> WebSocketConnection::incoming_bytes_{0};

namespace {
const char kDisconnectedMessage[] = "WebSocket disconnected without sending Close frame.";
const char kOverBudgetReason[] =
    "The server is receiving too many large messages; try again later.";
// The first capacity of a message's buffer; it then doubles as the message arrives. Small, so
// that many connections each starting a message cannot take much of the budget.
constexpr size_t kFirstReadBufferBytes = 4u << 10;

// The close code Beast sent for a failed read, or 0 if it sent none.
int CloseCodeForError(const beast::error_code& ec) {
  if (ec == websocket::error::message_too_big) return 1009;
  if (ec == websocket::error::bad_frame_payload) return 1007;
  if (ec.category() == websocket::make_error_code(websocket::error::bad_opcode).category()) {
    return 1002;
  }
  return 0;
}
}  // namespace

WebSocketConnection::WebSocketConnection(asio::ip::tcp::socket socket,
                                         runtime::ThreadEngine* engine, uint64_t socket_id,
                                         const WebSocketOptions& options)
    : ws_(std::move(socket)), engine_(engine), socket_id_(socket_id), options_(options) {
  ++live_count_;
}

WebSocketConnection::~WebSocketConnection() {
  ReleaseReadBuffer();
  --live_count_;
}

void WebSocketConnection::Start(http::request<http::string_body> request,
                                const runtime::HeaderList& response_headers) {
  websocket::stream_base::timeout timeout;
  timeout.handshake_timeout = options_.handshake_timeout;
  timeout.idle_timeout = websocket::stream_base::none();
  timeout.keep_alive_pings = false;
  ws_.set_option(timeout);
  ws_.read_message_max(options_.max_message_bytes);
  ws_.auto_fragment(false);
  // Beast calls it only from inside a read or close of this connection's, whose handler owns the
  // connection. (A pointer fits in std::function without an allocation.)
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::close) OnPeerClose();
  });
  runtime::HeaderList headers;
  for (const auto& [name, value] : response_headers) {
    // Beast writes the handshake's own fields; the object's other headers go along.
    if (beast::iequals(name, "upgrade") || beast::iequals(name, "connection") ||
        beast::iequals(name, "sec-websocket-accept") || beast::iequals(name, "content-length") ||
        beast::iequals(name, "transfer-encoding")) {
      continue;
    }
    headers.emplace_back(name, value);
  }
  ws_.set_option(websocket::stream_base::decorator(
      [headers = std::move(headers)](websocket::response_type& response) {
        response.set(http::field::server, "dorm");
        for (const auto& [name, value] : headers) response.insert(name, value);
      }));
  ws_.next_layer().SetObserver(weak_from_this());
  ws_.async_accept(request,
                   [self = shared_from_this()](beast::error_code ec) { self->OnAccepted(ec); });
}

void WebSocketConnection::OnStreamIdle() {
  // Resumes a batch held back while Beast wrote a control frame.
  if (!waiting_for_stream_ || !ws_.next_layer().CanWriteFrames()) return;
  waiting_for_stream_ = false;
  WriteNext();
}

void WebSocketConnection::OnAccepted(beast::error_code ec) {
  if (ec) {
    Finish(1006, kDisconnectedMessage, false);
    return;
  }
  open_ = true;
  if (!engine_->AttachWebSocket(socket_id_, shared_from_this())) {
    // The object was reset while the handshake was under way.
    finished_ = true;
    Close(1011, "The Durable Object was reset.");
    return;
  }
  Read();
}

void WebSocketConnection::Read() {
  if (!close_started_ && !idle_wait_pending_ && frames_.AtMessageEnd() &&
      frames_.final_frames() == messages_read_) {
    // Beast has no unread bytes: wait for the socket rather than keep Beast's read pending (its
    // operation takes about 600 bytes, the wait about 100). Not once our Close is under way,
    // which reads the peer's answer itself.
    idle_waiting_ = true;
    idle_wait_pending_ = true;
    beast::get_lowest_layer(ws_).async_wait(
        asio::ip::tcp::socket::wait_read,
        [self = shared_from_this()](beast::error_code) { self->OnReadable(); });
    return;
  }
  ReadFirstChunk();
}

void WebSocketConnection::OnReadable() {
  idle_wait_pending_ = false;
  if (idle_waiting_ && AnswerIdlePing()) {
    // Clients ping idle connections to keep them alive; the connection stays idle.
    idle_waiting_ = false;
    Read();
    return;
  }
  // Whatever else ended the wait (bytes, the peer's end, the socket closed), Beast's read reports
  // it.
  EndIdleWait();
}

bool WebSocketConnection::AnswerIdlePing() {
  // Not while a batch or one of Beast's frames is being written, nor while anything is queued: the
  // Pong would have to wait, and a client that keeps pinging without reading is left to Beast,
  // whose read waits for each Pong to be written before it reads on.
  if (!open_ || close_requested_ || writing_ || !ws_.is_open() ||
      !ws_.next_layer().CanWriteFrames()) {
    return false;
  }
  std::array<char, kMaxClientPingFrameBytes + 1> bytes;
  const int fd = beast::get_lowest_layer(ws_).native_handle();
  const ssize_t peeked = ::recv(fd, bytes.data(), bytes.size(), MSG_PEEK | MSG_DONTWAIT);
  std::string pong;
  if (peeked <= 0 ||
      !AnswerClientPing(std::string_view(bytes.data(), static_cast<size_t>(peeked)), &pong)) {
    return false;
  }
  // Only this connection reads the socket, on this thread: the bytes peeked are the bytes taken.
  if (::recv(fd, bytes.data(), static_cast<size_t>(peeked), MSG_DONTWAIT) != peeked) {
    // Not expected; the stream would be out of step, so the connection ends (Beast's read, started
    // next, reports it).
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
    return false;
  }
  QueuedMessage message{std::make_shared<const std::string>(std::move(pong)), {}, 0};
  if (!out_) out_ = std::make_unique<Outgoing>();
  out_->queued_bytes += message.payload->size();
  out_->queue.push_back(std::move(message));
  writing_ = true;
  WriteNext();
  return true;
}

void WebSocketConnection::EndIdleWait() {
  if (!idle_waiting_) return;
  idle_waiting_ = false;
  ReadFirstChunk();
}

void WebSocketConnection::ReadFirstChunk() {
  // A message's first bytes go to the inline first_chunk_: a connection waiting for its next
  // message holds no read buffer (Beast's async_read with a dynamic buffer would allocate 1.5 KiB
  // up front, and idle connections are many). Only a longer message continues into read_buffer_.
  ReadSome(asio::mutable_buffer(first_chunk_.data(), first_chunk_.size()),
           &WebSocketConnection::OnFirstChunk);
}

void WebSocketConnection::ReadSome(asio::mutable_buffer into, ReadCallback then) {
  // One buffer type and one handler type for every read: Beast's read operation is a large
  // template, instantiated once per pair (each instance costs seconds of compile time).
  ws_.async_read_some(into, [self = shared_from_this(), then](beast::error_code ec, size_t n) {
    ((*self).*then)(ec, n);
  });
}

void WebSocketConnection::OnFirstChunk(beast::error_code ec, size_t n) {
  if (ec) {
    OnReadFailed(ec);
    return;
  }
  if (ws_.is_message_done()) {
    Deliver(ws_.got_text(), std::string(first_chunk_.data(), n));
    return;
  }
  // A longer message: it continues after these bytes (Beast checks the size limit and UTF-8
  // across the whole message either way), and must keep arriving.
  if (!GrowReadBuffer(kFirstReadBufferBytes)) {
    RefuseOverBudget();
    return;
  }
  read_buffer_->commit(
      asio::buffer_copy(read_buffer_->prepare(n), asio::buffer(first_chunk_.data(), n)));
  SetMessageTimeout(true);
  ReadMore();
}

void WebSocketConnection::ReadMore() {
  size_t size = read_buffer_->size();
  if (read_buffer_->capacity() == size) {
    // Full: doubled, up to one byte past the largest message (Beast refuses a frame that would
    // pass read_message_max before reading it, so a read always has room for a byte).
    size_t capacity =
        std::min(std::max(2 * size, kFirstReadBufferBytes), options_.max_message_bytes + 1);
    if (capacity <= size || !GrowReadBuffer(capacity)) {
      RefuseOverBudget();
      return;
    }
  }
  // Within capacity: prepare() does not reallocate, so the budget holds what the buffer holds.
  ReadSome(read_buffer_->prepare(read_buffer_->capacity() - size),
           &WebSocketConnection::OnMoreRead);
}

void WebSocketConnection::OnMoreRead(beast::error_code ec, size_t n) {
  if (ec) {
    OnReadFailed(ec);
    return;
  }
  read_buffer_->commit(n);
  if (!ws_.is_message_done()) {
    ReadMore();
    return;
  }
  bool text = ws_.got_text();
  std::string data(static_cast<const char*>(read_buffer_->data().data()), read_buffer_->size());
  // Idle connections are many: the next message starts in first_chunk_ again, so none keeps a
  // buffer.
  ReleaseReadBuffer();
  SetMessageTimeout(false);
  Deliver(text, std::move(data));
}

void WebSocketConnection::Deliver(bool text, std::string message) {
  if (text && EndsInsideUtf8Character(message)) {
    std::string error = beast::error_code(websocket::error::bad_frame_payload).message();
    if (!finished_) engine_->OnWebSocketError(socket_id_, "WebSocket protocol error: " + error);
    read_ended_ = true;  // no read is pending: the close handshake reads what comes
    Finish(1007, error, false);
    Close(1007, error);
    return;
  }
  ++messages_read_;
  if (!finished_) engine_->OnWebSocketMessage(socket_id_, text, std::move(message));
  Read();
}

bool WebSocketConnection::GrowReadBuffer(size_t capacity) {
  if (capacity <= reserved_bytes_) return true;
  size_t more = capacity - reserved_bytes_;
  size_t used = incoming_bytes_.load(std::memory_order_relaxed);
  do {
    if (more > options_.max_incoming_bytes || used > options_.max_incoming_bytes - more) {
      return false;
    }
  } while (!incoming_bytes_.compare_exchange_weak(used, used + more, std::memory_order_relaxed));
  reserved_bytes_ = capacity;
  // Exactly `capacity`: the buffer's own growth would double past what the budget gave.
  if (!read_buffer_) read_buffer_ = std::make_unique<beast::flat_buffer>();
  read_buffer_->max_size(capacity);
  read_buffer_->reserve(capacity);
  return true;
}

void WebSocketConnection::ReleaseReadBuffer() {
  read_buffer_.reset();
  incoming_bytes_.fetch_sub(reserved_bytes_, std::memory_order_relaxed);
  reserved_bytes_ = 0;
}

void WebSocketConnection::SetMessageTimeout(bool on) {
  if (message_timeout_on_ == on) return;
  message_timeout_on_ = on;
  websocket::stream_base::timeout timeout;
  timeout.handshake_timeout = options_.handshake_timeout;
  timeout.idle_timeout =
      on ? std::chrono::duration_cast<websocket::stream_base::duration>(options_.message_timeout)
         : websocket::stream_base::none();
  timeout.keep_alive_pings = false;
  ws_.set_option(timeout);
}

void WebSocketConnection::RefuseOverBudget() {
  Log(LogLevel::kWarn, "closing a WebSocket: unfinished incoming messages would pass " +
                           std::to_string(options_.max_incoming_bytes) + " bytes");
  ReleaseReadBuffer();
  SetMessageTimeout(false);
  read_ended_ = true;  // no read is pending: the close handshake reads what comes
  Finish(1013, kOverBudgetReason, false);
  Close(1013, kOverBudgetReason);
}

void WebSocketConnection::OnReadFailed(beast::error_code ec) {
  open_ = false;
  read_ended_ = true;
  ReleaseReadBuffer();
  if (ec == websocket::error::closed) {
    // The peer's Close was answered (or the two Closes crossed).
    const websocket::close_reason& reason = ws_.reason();
    int code = reason.code == websocket::close_code::none ? 1005 : static_cast<int>(reason.code);
    Finish(code, std::string(reason.reason.data(), reason.reason.size()), true);
    return;
  }
  // Our Close is under way: its completion reports what the peer answered.
  if (close_op_pending_) return;
  int code = CloseCodeForError(ec);
  if (code != 0) {
    // Beast has sent the peer a Close with `code`; the object hears of the error, then of the
    // close.
    if (!finished_) {
      engine_->OnWebSocketError(socket_id_, "WebSocket protocol error: " + ec.message());
    }
    Finish(code, ec.message(), false);
    return;
  }
  if (ec == beast::error::timeout && !finished_) {
    Log(LogLevel::kWarn, "dropping a WebSocket whose message stopped arriving for " +
                             std::to_string(options_.message_timeout.count()) + " s");
  }
  Finish(1006, kDisconnectedMessage, false);
}

void WebSocketConnection::OnPeerClose() {
  peer_closed_ = true;
  open_ = false;
  const websocket::close_reason& reason = ws_.reason();
  Closing& state = closing();
  state.peer_code =
      reason.code == websocket::close_code::none ? 1005 : static_cast<int>(reason.code);
  state.peer_reason.assign(reason.reason.data(), reason.reason.size());
  ws_.next_layer().HoldCloseAnswer();
  if (close_requested_) {
    // The object closed first and its Close has not left: it answers.
    ws_.next_layer().AnswerClose(EncodeServerCloseFrame(
        state.reason.code == websocket::close_code::none ? 1005
                                                         : static_cast<int>(state.reason.code),
        std::string_view(state.reason.reason.data(), state.reason.reason.size())));
  } else if (finished_) {
    // Nobody is left to answer (the object was reset): the peer's Close is echoed.
    ws_.next_layer().AnswerClose(EncodeServerCloseFrame(state.peer_code, state.peer_reason));
  } else {
    peer_close_held_ = true;
    ArmCloseDeadline();
  }
  // Told after Beast's read has moved on: the runtime may answer at once.
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    self->Finish(self->closing_->peer_code, self->closing_->peer_reason, true);
  });
}

void WebSocketConnection::AnswerPeerClose(int code, const std::string& reason) {
  peer_close_held_ = false;
  ws_.next_layer().AnswerClose(EncodeServerCloseFrame(code, reason));
  // The peer should now end the TCP connection; if it does not, the deadline does.
  ArmCloseDeadline();
}

void WebSocketConnection::Send(bool text, runtime::SharedPayload payload) {
  if (!open_ || close_requested_) return;
  // A message alone is always taken, however large: only a backlog shows a client not reading.
  size_t queued_bytes = QueuedBytes();
  if (queued_bytes > 0 && queued_bytes + payload->size() > options_.max_buffered_bytes) {
    // The client does not keep up: drop what waits, close with 1013, and tell the object now.
    Log(LogLevel::kWarn, "closing a WebSocket whose client stopped reading (" +
                             std::to_string(queued_bytes) + " bytes waiting)");
    DropUnsent();
    Finish(1013, "The client is not reading its messages fast enough.", false);
    Close(1013, "Client too slow");
    return;
  }
  QueuedMessage message{std::move(payload), {}, 0};
  message.header_size = static_cast<uint8_t>(
      EncodeServerFrameHeader(text, message.payload->size(), message.header.data()));
  if (!out_) out_ = std::make_unique<Outgoing>();
  out_->queued_bytes += message.payload->size();
  out_->queue.push_back(std::move(message));
  if (!writing_) {
    writing_ = true;
    // Posted behind the handlers that are ready, so that the messages they send join this batch.
    asio::post(ws_.get_executor(), [self = shared_from_this()] { self->WriteNext(); });
  }
}

void WebSocketConnection::WriteNext() {
  if (!out_ || out_->queue_head == out_->queue.size()) {
    writing_ = false;
    ReleaseBuffers();
    if (close_requested_ && !close_started_) StartClose();
    return;
  }
  if (!ws_.is_open()) {
    // Beast has sent, or is sending, a Close (the peer's close or a protocol error): no data
    // frame may follow it.
    writing_ = false;
    ReleaseBuffers();
    return;
  }
  if (!ws_.next_layer().CanWriteFrames()) {
    waiting_for_stream_ = true;  // the stream's idle callback resumes
    return;
  }
  // Small payloads are copied next to their headers (one buffer for a run of chat lines); large
  // ones are written from the payload itself.
  constexpr size_t kCopiedPayloadBytes = 1024;
  Outgoing& out = *out_;
  out.batch_end = out.queue.size();
  size_t copied = 0;
  for (size_t i = out.queue_head; i < out.batch_end; ++i) {
    const QueuedMessage& m = out.queue[i];
    copied += m.header_size + (m.payload->size() <= kCopiedPayloadBytes ? m.payload->size() : 0);
  }
  out.batch_bytes.clear();
  out.batch_bytes.reserve(copied);  // no reallocation below: the buffers point into it
  out.batch_buffers.clear();
  size_t run_start = 0;
  for (size_t i = out.queue_head; i < out.batch_end; ++i) {
    const QueuedMessage& m = out.queue[i];
    out.batch_bytes.append(reinterpret_cast<const char*>(m.header.data()), m.header_size);
    if (m.payload->size() <= kCopiedPayloadBytes) {
      out.batch_bytes.append(*m.payload);
      continue;
    }
    out.batch_buffers.emplace_back(out.batch_bytes.data() + run_start,
                                   out.batch_bytes.size() - run_start);
    out.batch_buffers.emplace_back(m.payload->data(), m.payload->size());
    run_start = out.batch_bytes.size();
  }
  if (run_start < out.batch_bytes.size()) {
    out.batch_buffers.emplace_back(out.batch_bytes.data() + run_start,
                                   out.batch_bytes.size() - run_start);
  }
  ws_.next_layer().WriteFrames(
      out.batch_buffers,
      [self = shared_from_this()](beast::error_code ec) { self->OnWritten(ec); });
}

void WebSocketConnection::OnWritten(beast::error_code ec) {
  Outgoing& out = *out_;  // kept while a batch is written
  for (; out.queue_head < out.batch_end; ++out.queue_head) {
    out.queued_bytes -= out.queue[out.queue_head].payload->size();
    out.queue[out.queue_head].payload.reset();
  }
  if (ec) {
    writing_ = false;
    ReleaseBuffers();
    return;  // the pending read reports the failure
  }
  WriteNext();
}

void WebSocketConnection::DropUnsent() {
  if (!out_) return;
  Outgoing& out = *out_;
  size_t keep = std::max(out.batch_end, out.queue_head);
  for (size_t i = keep; i < out.queue.size(); ++i) out.queued_bytes -= out.queue[i].payload->size();
  out.queue.erase(out.queue.begin() + static_cast<std::ptrdiff_t>(keep), out.queue.end());
}

void WebSocketConnection::ReleaseBuffers() { out_.reset(); }

WebSocketConnection::Closing& WebSocketConnection::closing() {
  if (!closing_) closing_ = std::make_unique<Closing>(ws_.get_executor());
  return *closing_;
}

void WebSocketConnection::Close(int code, const std::string& reason) {
  if (peer_close_held_) {
    AnswerPeerClose(code, reason);
    return;
  }
  if (close_requested_ || peer_closed_) return;
  close_requested_ = true;
  Closing& state = closing();
  state.reason =
      websocket::close_reason(static_cast<websocket::close_code>(code), beast::string_view(reason));
  if (code == 1005) state.reason = websocket::close_reason();  // a Close frame without a body
  ArmCloseDeadline();
  if (!writing_) StartClose();
}

// The close deadline's completion. If the event loop is destroyed with it pending, it is destroyed
// uninvoked and drops the writes of Beast's held by the socket: their handlers own the connection,
// which would otherwise never be freed.
class WebSocketConnection::CloseDeadlineHandler {
 public:
  explicit CloseDeadlineHandler(std::weak_ptr<WebSocketConnection> connection)
      : connection_(std::move(connection)) {}
  CloseDeadlineHandler(CloseDeadlineHandler&& other) noexcept
      : connection_(std::move(other.connection_)), pending_(std::exchange(other.pending_, false)) {}
  CloseDeadlineHandler& operator=(CloseDeadlineHandler&&) = delete;
  ~CloseDeadlineHandler() {
    if (!pending_) return;  // moved from, or invoked
    if (auto self = connection_.lock()) self->ws_.next_layer().DropWaitingWrites();
  }
  void operator()(beast::error_code ec) {
    pending_ = false;
    auto self = connection_.lock();
    if (!self || ec) return;  // gone, re-armed or cancelled
    self->OnCloseDeadline();
  }

 private:
  std::weak_ptr<WebSocketConnection> connection_;
  bool pending_ = true;
};

void WebSocketConnection::ArmCloseDeadline() {
  asio::steady_timer& deadline = closing().deadline;
  deadline.expires_after(options_.handshake_timeout);
  deadline.async_wait(CloseDeadlineHandler(weak_from_this()));
}

void WebSocketConnection::OnCloseDeadline() {
  if (peer_close_held_) {
    AnswerPeerClose(closing_->peer_code, closing_->peer_reason);
    return;
  }
  if (close_op_pending_) return;  // Beast's own close timeout applies
  // Cancels the stuck write and the read; the read loop then reports the end, if it has not.
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).close(ignored);
}

void WebSocketConnection::StartClose() {
  close_started_ = true;
  if (!ws_.is_open()) return;
  EndIdleWait();
  close_op_pending_ = true;
  ws_.async_close(closing_->reason,
                  [self = shared_from_this()](beast::error_code ec) { self->OnClosed(ec); });
}

void WebSocketConnection::OnClosed(beast::error_code ec) {
  close_op_pending_ = false;
  open_ = false;
  if (!ec) {
    // The peer answered our Close: its code and reason are the object's close event.
    const websocket::close_reason& reason = ws_.reason();
    int code = reason.code == websocket::close_code::none ? 1005 : static_cast<int>(reason.code);
    Finish(code, std::string(reason.reason.data(), reason.reason.size()), true);
    return;
  }
  // The read loop reports a Close the peer sent meanwhile (crossing Closes); anything else ended
  // the connection without one.
  if (read_ended_) Finish(1006, kDisconnectedMessage, false);
}

void WebSocketConnection::Finish(int code, const std::string& reason, bool clean) {
  if (finished_) return;
  finished_ = true;
  engine_->OnWebSocketClosed(socket_id_, code, reason, clean);
}

}  // namespace dorm::net
