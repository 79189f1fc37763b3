// A TCP socket written by two writers, one at a time and whole frames at a time: Beast's
// WebSocket stream (the handshake answer, pongs and Close frames), which uses this class as its
// next layer, and the connection that owns the stream, which writes its messages' frames in
// batches through WriteFrames. Without it a pong could land in the middle of a batch.
//
// Beast's writes are never refused: one that arrives while a batch is being written waits and
// starts as soon as the batch is out. The owner asks CanWriteFrames() before writing; when it
// is false, the owner waits for the idle callback, which runs after each of Beast's writes.
//
// Threading: one event loop (the connection's); not thread-safe. Reads pass straight through.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace dorm::net {

class SerializedWriteSocket {
 public:
  using next_layer_type = boost::asio::ip::tcp::socket;
  using executor_type = next_layer_type::executor_type;
  using WriteSignature = void(boost::system::error_code, size_t);

  explicit SerializedWriteSocket(next_layer_type socket) : socket_(std::move(socket)) {}
  SerializedWriteSocket(const SerializedWriteSocket&) = delete;
  SerializedWriteSocket& operator=(const SerializedWriteSocket&) = delete;

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  next_layer_type& next_layer() noexcept { return socket_; }
  const next_layer_type& next_layer() const noexcept { return socket_; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }

  // Beast's writes. Beast issues at most one at a time and continues a partial write from inside
  // the completion of the previous part, so a frame of Beast's is never split by a batch.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, WriteSignature>(
        [this](auto handler, const ConstBuffers& buffers) {
          if (frames_writing_) {
            // Beast keeps what the buffers point at alive until its handler runs.
            deferred_buffers_.assign(boost::asio::buffer_sequence_begin(buffers),
                                     boost::asio::buffer_sequence_end(buffers));
            deferred_handler_.emplace(std::move(handler));
            return;
          }
          StartStreamWrite(buffers, std::move(handler));
        },
        token, buffers);
  }

  // True when no write of Beast's is under way or waiting, so that WriteFrames may start.
  bool CanWriteFrames() const { return !stream_writing_ && !deferred_handler_ && !frames_writing_; }

  // Runs after each of Beast's writes completes, once its handler has returned (and may have
  // started another write). It must hold its owner weakly: Beast's handler may have released the
  // last reference to the owner, and to this socket, before the callback runs.
  void SetStreamIdleCallback(std::function<void()> callback) {
    stream_idle_callback_ = std::move(callback);
  }

  // Writes all of `buffers` (which must stay valid until `handler` runs), then calls
  // handler(error_code). Requires CanWriteFrames(). A write of Beast's that arrives meanwhile
  // starts before `handler` runs.
  template <class Handler>
  void WriteFrames(const std::vector<boost::asio::const_buffer>& buffers, Handler handler) {
    frames_writing_ = true;
    boost::asio::async_write(socket_, buffers, FramesWritten<Handler>(this, std::move(handler)));
  }

 private:
  // The completion of a batch. If the event loop is destroyed with the batch under way, it is
  // destroyed uninvoked and drops Beast's waiting write too: that write's handler owns the
  // connection, which owns this socket, and would otherwise never be freed.
  template <class Handler>
  class FramesWritten {
   public:
    FramesWritten(SerializedWriteSocket* owner, Handler handler)
        : owner_(owner), handler_(std::move(handler)) {}
    FramesWritten(FramesWritten&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), handler_(std::move(other.handler_)) {}
    FramesWritten& operator=(FramesWritten&&) = delete;
    ~FramesWritten() {
      if (owner_) {
        owner_->frames_writing_ = false;
        owner_->deferred_handler_.reset();
      }
    }

    void operator()(boost::system::error_code ec, size_t) {
      SerializedWriteSocket* owner = std::exchange(owner_, nullptr);
      owner->frames_writing_ = false;
      // handler_ keeps the connection, and so `owner`, alive until it has run.
      if (owner->deferred_handler_) {
        auto handler = std::move(*owner->deferred_handler_);
        owner->deferred_handler_.reset();
        owner->StartStreamWrite(owner->deferred_buffers_, std::move(handler));
      }
      std::move(handler_)(ec);
    }

   private:
    SerializedWriteSocket* owner_;
    Handler handler_;
  };

  template <class ConstBuffers, class Handler>
  void StartStreamWrite(const ConstBuffers& buffers, Handler handler) {
    stream_writing_ = true;
    auto executor = boost::asio::get_associated_executor(handler, socket_.get_executor());
    socket_.async_write_some(
        buffers,
        boost::asio::bind_executor(executor, [this, handler = std::move(handler)](
                                                 boost::system::error_code ec, size_t n) mutable {
          stream_writing_ = false;
          // Copied first: `this` may be gone once Beast's handler has run.
          std::function<void()> idle = stream_idle_callback_;
          std::move(handler)(ec, n);
          if (idle) idle();
        }));
  }

  next_layer_type socket_;
  bool frames_writing_ = false;
  bool stream_writing_ = false;
  std::vector<boost::asio::const_buffer> deferred_buffers_;
  // In an optional because Boost 1.81's any_completion_handler cannot be move-assigned (its
  // operator= recurses); it is only ever constructed in place and moved from.
  std::optional<boost::asio::any_completion_handler<WriteSignature>> deferred_handler_;
  std::function<void()> stream_idle_callback_;
};

// Beast's closing handshake ends by tearing the TCP connection down; that is the socket's own.
template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, SerializedWriteSocket& socket,
                    TeardownHandler&& handler) {
  boost::beast::websocket::async_teardown(role, socket.next_layer(),
                                          std::forward<TeardownHandler>(handler));
}

}  // namespace dorm::net
