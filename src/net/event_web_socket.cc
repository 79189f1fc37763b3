#include "net/event_web_socket.h"

#include <boost/asio/post.hpp>

namespace dorm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

// How long a connection may go without a frame from the client before it is pinged, and then
// dropped if the ping is not answered within as long again.
constexpr std::chrono::seconds kEventSocketIdle{30};

// Appends to `out` the data of each whole event at the start of `pending` (events end with a
// blank line; a data event is one `data: ` line per line of data) and removes them from it.
void TakeEvents(std::string& pending, std::deque<std::string>& out) {
  size_t start = 0;
  for (size_t end; (end = pending.find("\n\n", start)) != std::string::npos; start = end + 2) {
    std::string_view event(pending.data() + start, end - start);
    std::string data;
    bool has_data = false;
    while (!event.empty()) {
      const size_t newline = event.find('\n');
      std::string_view line = event.substr(0, newline);
      event = newline == std::string_view::npos ? std::string_view() : event.substr(newline + 1);
      if (line.substr(0, 5) != "data:") continue;  // a comment, or a field other than data
      line.remove_prefix(5);
      if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      if (has_data) data += '\n';
      data.append(line.data(), line.size());
      has_data = true;
    }
    if (has_data) out.push_back(std::move(data));
  }
  pending.erase(0, start);
}

}  // namespace

EventWebSocket::EventWebSocket(asio::ip::tcp::socket socket,
                               std::shared_ptr<runtime::ResponseStream> stream,
                               std::chrono::seconds handshake_timeout)
    : ws_(std::move(socket)), stream_(std::move(stream)), handshake_timeout_(handshake_timeout) {}

EventWebSocket::~EventWebSocket() {
  if (stream_) stream_->Cancel();
}

void EventWebSocket::Start(beast::http::request<beast::http::string_body> request) {
  websocket::stream_base::timeout timeout;
  timeout.handshake_timeout = handshake_timeout_;
  timeout.idle_timeout = kEventSocketIdle;
  timeout.keep_alive_pings = true;
  ws_.set_option(timeout);
  ws_.read_message_max(kMaxClientMessageBytes);
  ws_.auto_fragment(false);
  ws_.text(true);
  ws_.async_accept(request,
                   [self = shared_from_this()](beast::error_code ec) { self->OnAccepted(ec); });
}

void EventWebSocket::OnAccepted(beast::error_code ec) {
  if (ec) {
    Finish();
    return;
  }
  accepted_ = true;
  // Posted to this connection's loop from whichever thread pushed: Pump runs here only.
  std::weak_ptr<EventWebSocket> weak = weak_from_this();
  auto executor = ws_.get_executor();
  stream_->SetConsumerWake([weak, executor] {
    asio::post(executor, [weak] {
      if (auto self = weak.lock()) self->Pump();
    });
  });
  Read();
  Pump();
}

void EventWebSocket::Pump() {
  if (finished_ || closing_ || writing_) return;
  // Until a Take finds nothing (only then does the stream call the wake-up on its next push), or
  // there is something to write.
  for (;;) {
    runtime::ResponseStream::Taken taken = stream_->Take();
    unconsumed_ += taken.bytes.size();
    partial_ += taken.bytes;
    TakeEvents(partial_, messages_);
    if (taken.ended) {
      stream_ended_ = true;
      stream_failed_ = taken.failed;
    }
    if (taken.bytes.empty() || taken.ended || !messages_.empty()) break;
  }
  WriteNext();
}

void EventWebSocket::WriteNext() {
  if (finished_) return;
  if (messages_.empty()) {
    writing_ = false;
    if (unconsumed_ > 0) {
      // Every message taken so far is written: the producer may send more (and is woken when it
      // had stopped).
      const size_t n = unconsumed_;
      unconsumed_ = 0;
      stream_->Consumed(n);
    }
    if (stream_ended_) {
      CloseWith(stream_failed_ ? websocket::close_code::internal_error
                               : websocket::close_code::normal);
    }
    // Otherwise the consumer wake-up calls Pump when more comes.
    return;
  }
  writing_ = true;
  ws_.async_write(
      asio::buffer(messages_.front()),
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWritten(ec); });
}

void EventWebSocket::OnWritten(beast::error_code ec) {
  if (ec) {
    Finish();
    return;
  }
  messages_.pop_front();
  if (!messages_.empty()) {
    WriteNext();
    return;
  }
  writing_ = false;
  WriteNext();  // reports the bytes consumed
  if (!finished_ && !closing_) Pump();
}

void EventWebSocket::Read() {
  ws_.async_read(read_buffer_,
                 [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
}

void EventWebSocket::OnRead(beast::error_code ec) {
  if (ec) {
    // The client closed (Beast answered its Close), left, overran the message limit or stopped
    // answering pings.
    Finish();
    return;
  }
  read_buffer_.consume(read_buffer_.size());
  Read();
}

void EventWebSocket::CloseWith(websocket::close_code code) {
  if (closing_ || finished_) return;
  closing_ = true;
  stream_->Cancel();
  ws_.async_close(code, [self = shared_from_this()](beast::error_code) {
    // The pending read sees the client's answering Close (or the timeout) and finishes.
  });
}

void EventWebSocket::Finish() {
  if (finished_) return;
  finished_ = true;
  stream_->Cancel();
  messages_.clear();
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).close(ignored);
}

}  // namespace dorm::net
