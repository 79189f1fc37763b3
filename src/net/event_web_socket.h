// A WebSocket that carries a stream of Server-Sent Events to the client: the admin API's live log
// (GET /_admin/v1/apps/<app>/tail with `Upgrade: websocket`), which answers the same event
// stream as for an SSE client. Each `data:` event becomes one text message holding the event's
// data (a JSON line, or `{"dropped":N}`); comments (`: tailing`) are not sent.
//
// Backpressure is the stream's own (runtime/response_stream.h): the bytes taken from it count as
// unread until their messages are written to the socket, so a client that does not read makes the
// producer hold at most about ResponseStream::kHighWater bytes, and the live log drops (and
// counts) lines rather than wait. Messages from the client are read and discarded, at most
// kMaxClientMessageBytes each (it has nothing to say beyond Close, Ping and Pong); pings keep an
// idle connection checked, and a client that answers none is dropped.
//
// The connection ends when the client closes it (the stream is cancelled, which removes the tail
// client), or when the stream ends (Close 1000; 1011 if it failed), e.g. at server shutdown.
//
// Threading: lives on the event loop of the HTTP connection it came from; every handler runs
// there. The stream's wake-up only posts to that loop. Owned by its pending asynchronous
// operations.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "runtime/response_stream.h"

namespace dorm::net {

class EventWebSocket : public std::enable_shared_from_this<EventWebSocket> {
 public:
  static constexpr size_t kMaxClientMessageBytes = 1024;

  EventWebSocket(boost::asio::ip::tcp::socket socket,
                 std::shared_ptr<runtime::ResponseStream> stream,
                 std::chrono::seconds handshake_timeout);
  // Cancels the stream if it is still open.
  ~EventWebSocket();

  // Answers the upgrade `request` (101), then sends the stream's events as they come.
  void Start(boost::beast::http::request<boost::beast::http::string_body> request);

 private:
  void OnAccepted(boost::beast::error_code ec);
  // Takes what the stream holds and splits it into messages; writes them, or closes at its end.
  void Pump();
  void WriteNext();
  void OnWritten(boost::beast::error_code ec);
  void Read();
  void OnRead(boost::beast::error_code ec);
  // Sends a Close frame with `code` once no message is being written.
  void CloseWith(boost::beast::websocket::close_code code);
  // The connection is over: stops the stream and reading.
  void Finish();

  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  std::shared_ptr<runtime::ResponseStream> stream_;
  const std::chrono::seconds handshake_timeout_;
  boost::beast::flat_buffer read_buffer_;
  std::string partial_;               // the start of an event whose end has not come yet
  std::deque<std::string> messages_;  // to write, in order
  size_t unconsumed_ = 0;             // bytes taken from the stream whose messages are not written
  bool accepted_ = false;
  bool writing_ = false;
  bool stream_ended_ = false;
  bool stream_failed_ = false;
  bool closing_ = false;
  bool finished_ = false;
};

}  // namespace dorm::net
