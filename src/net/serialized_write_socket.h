// A TCP socket written by two writers, one at a time and whole frames at a time: Beast's
// WebSocket stream (the handshake answer, pongs and Close frames), which uses this class as its
// next layer, and the connection that owns the stream, which writes its messages' frames in
// batches through WriteFrames. Without it a pong could land in the middle of a batch.
//
// Beast's writes are never refused: one that arrives while a batch is being written waits and
// starts as soon as the batch is out. The owner asks CanWriteFrames() before writing; when it
// is false, the owner waits to be told it is idle (Observer), after each of Beast's writes.
//
// Beast answers a peer's Close at once with the same code and no reason. The owner may hold that
// answer instead (HoldCloseAnswer, before Beast writes it) and later give the Close frame to send
// in its place (AnswerClose): the object's own code and reason, or the peer's echoed whole. Beast's
// write completes once that frame has gone out, and Beast then tears the connection down.
//
// Beast keeps this layer inside its stream's state, one per connection and idle connections are
// many: what only a pong during a batch or a peer's Close needs lives in a part made on first use.
//
// Reads pass straight through; the owner sees the bytes each one brought (Observer::OnBytesRead),
// so that it can follow the client's frames (FrameBoundaryTracker).
//
// Threading: one event loop (the connection's); not thread-safe.
#pragma once

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace dorm::net {

class SerializedWriteSocket {
 public:
  using next_layer_type = boost::asio::ip::tcp::socket;
  using executor_type = next_layer_type::executor_type;

  // The owner, told of what passes through (see SetObserver). Neither method may throw.
  class Observer {
   public:
    // After each of Beast's writes completes.
    virtual void OnStreamIdle() = 0;
    // The bytes a read brought, before the reader's handler runs (possibly in several parts).
    virtual void OnBytesRead(const uint8_t* data, size_t size) = 0;

   protected:
    ~Observer() = default;
  };

  explicit SerializedWriteSocket(next_layer_type socket) : socket_(std::move(socket)) {}
  SerializedWriteSocket(const SerializedWriteSocket&) = delete;
  SerializedWriteSocket& operator=(const SerializedWriteSocket&) = delete;

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  next_layer_type& next_layer() noexcept { return socket_; }
  const next_layer_type& next_layer() const noexcept { return socket_; }

  // Beast's reads; `handler` is Beast's operation, which keeps its owner alive (and so this
  // socket) until it has run.
  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    socket_.async_read_some(buffers, [this, buffers, handler = std::forward<Handler>(handler)](
                                         boost::system::error_code ec, size_t n) mutable {
      if (auto observer = n > 0 ? observer_.lock() : nullptr) {
        size_t left = n;
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             left > 0 && it != boost::asio::buffer_sequence_end(buffers); ++it) {
          boost::asio::mutable_buffer part(*it);
          size_t size = std::min(part.size(), left);
          observer->OnBytesRead(static_cast<const uint8_t*>(part.data()), size);
          left -= size;
        }
      }
      std::move(handler)(ec, n);
    });
  }

  // Beast's writes. Beast issues at most one at a time and continues a partial write from inside
  // the completion of the previous part, so a frame of Beast's is never split by a batch. Beast
  // passes a handler whose executor is this stream's, which is the socket's; it is invoked as a
  // completion of the socket.
  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (rare_ && rare_->hold_close_answer && IsCloseFrame(buffers)) {
      // Beast's answer to the peer's Close: `handler` runs once the owner's frame has gone out.
      rare_->hold_close_answer = false;
      rare_->held_answer = std::make_unique<CloseAnswerOf<std::decay_t<Handler>>>(
          std::forward<Handler>(handler), boost::asio::buffer_size(buffers));
      if (rare_->answer_given) StartHeldAnswer();
      return;
    }
    if (frames_writing_) {
      // Beast keeps what the buffers point at alive until its handler runs.
      Rare& rare = MakeRare();
      rare.deferred_buffers.assign(boost::asio::buffer_sequence_begin(buffers),
                                   boost::asio::buffer_sequence_end(buffers));
      rare.deferred =
          std::make_unique<DeferredWriteOf<std::decay_t<Handler>>>(std::forward<Handler>(handler));
      return;
    }
    StartStreamWrite(buffers, std::forward<Handler>(handler));
  }

  // True when no write of Beast's is under way or waiting, so that WriteFrames may start.
  bool CanWriteFrames() const {
    return !stream_writing_ && !frames_writing_ &&
           (!rare_ || (!rare_->deferred && !rare_->held_answer));
  }

  // Beast has read the peer's Close and is about to answer it: that answer is held until
  // AnswerClose. Call from Beast's control callback for the Close, which runs just before.
  void HoldCloseAnswer() { MakeRare().hold_close_answer = true; }

  // Sends `close_frame` (a whole Close frame, see EncodeServerCloseFrame) in place of Beast's held
  // answer: now, after the batch under way, or as soon as Beast writes its answer. Once only;
  // later calls are ignored.
  void AnswerClose(std::string close_frame) {
    Rare& rare = MakeRare();
    if (rare.answer_given) return;
    rare.answer_given = true;
    rare.close_answer = std::move(close_frame);
    if (rare.held_answer) StartHeldAnswer();
  }

  // Gives up Beast's write held or waiting here without running its handler. For an owner whose
  // event loop is being destroyed: the handler owns the owner, which owns this socket.
  void DropWaitingWrites() {
    if (!rare_) return;
    std::unique_ptr<PendingWrite> held = std::move(rare_->held_answer);
    std::unique_ptr<PendingWrite> deferred = std::move(rare_->deferred);
  }

  // `observer` is told after each of Beast's writes completes, once its handler has returned (and
  // may have started another write), and of the bytes of every read. Held weakly: Beast's handler
  // may have released the last reference to the observer (the owner), and to this socket, before
  // it is told.
  void SetObserver(std::weak_ptr<Observer> observer) { observer_ = std::move(observer); }

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
        if (owner_->rare_) owner_->rare_->deferred.reset();
      }
    }

    void operator()(boost::system::error_code ec, size_t) {
      SerializedWriteSocket* owner = std::exchange(owner_, nullptr);
      owner->frames_writing_ = false;
      // handler_ keeps the connection, and so `owner`, alive until it has run.
      if (owner->rare_ && owner->rare_->deferred) {
        std::exchange(owner->rare_->deferred, nullptr)->Start(*owner);
      }
      std::move(handler_)(ec);
    }

   private:
    SerializedWriteSocket* owner_;
    Handler handler_;
  };

  // A write of Beast's waiting (for the batch under way, or for the owner's Close answer), with
  // its handler's type erased.
  class PendingWrite {
   public:
    virtual ~PendingWrite() = default;
    // Starts the write; called once.
    virtual void Start(SerializedWriteSocket& socket) = 0;
  };
  // A write on the deferred buffers.
  template <class Handler>
  class DeferredWriteOf : public PendingWrite {
   public:
    explicit DeferredWriteOf(Handler handler) : handler_(std::move(handler)) {}
    void Start(SerializedWriteSocket& socket) override {
      socket.StartStreamWrite(socket.rare_->deferred_buffers, std::move(handler_));
    }

   private:
    Handler handler_;
  };
  // Beast's answer to a peer's Close, replaced by the owner's frame. Beast wrote with
  // net::async_write, which completes once told that all its `beast_bytes` went out.
  template <class Handler>
  class CloseAnswerOf : public PendingWrite {
   public:
    CloseAnswerOf(Handler handler, size_t beast_bytes)
        : handler_(std::move(handler)), beast_bytes_(beast_bytes) {}
    void Start(SerializedWriteSocket& socket) override {
      socket.stream_writing_ = true;
      size_t beast_bytes = beast_bytes_;
      boost::asio::async_write(socket.socket_, boost::asio::buffer(socket.rare_->close_answer),
                               [&socket, beast_bytes, handler = std::move(handler_)](
                                   boost::system::error_code ec, size_t) mutable {
                                 socket.stream_writing_ = false;
                                 // Copied first: the socket may be gone once Beast's handler has
                                 // run.
                                 std::weak_ptr<Observer> idle = socket.observer_;
                                 std::move(handler)(ec, ec ? 0 : beast_bytes);
                                 if (auto listener = idle.lock()) listener->OnStreamIdle();
                               });
    }

   private:
    Handler handler_;
    size_t beast_bytes_;
  };

  template <class ConstBuffers>
  static bool IsCloseFrame(const ConstBuffers& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::const_buffer buffer(*it);
      if (buffer.size() == 0) continue;
      return *static_cast<const uint8_t*>(buffer.data()) == 0x88;  // FIN and the Close opcode
    }
    return false;
  }

  // Starts the owner's Close answer in place of Beast's held write, or queues it behind the batch
  // under way.
  void StartHeldAnswer() {
    if (frames_writing_) {
      rare_->deferred = std::move(rare_->held_answer);
      return;
    }
    std::exchange(rare_->held_answer, nullptr)->Start(*this);
  }

  template <class ConstBuffers, class Handler>
  void StartStreamWrite(const ConstBuffers& buffers, Handler&& handler) {
    stream_writing_ = true;
    socket_.async_write_some(buffers, [this, handler = std::forward<Handler>(handler)](
                                          boost::system::error_code ec, size_t n) mutable {
      stream_writing_ = false;
      // Copied first: `this` may be gone once Beast's handler has run.
      std::weak_ptr<Observer> idle = observer_;
      std::move(handler)(ec, n);
      if (auto listener = idle.lock()) listener->OnStreamIdle();
    });
  }

  // The state of a write of Beast's that waits, and of the answer to the peer's Close.
  struct Rare {
    std::vector<boost::asio::const_buffer> deferred_buffers;
    std::unique_ptr<PendingWrite> deferred;
    bool hold_close_answer = false;
    std::unique_ptr<PendingWrite> held_answer;  // Beast's answer to the peer's Close, held
    bool answer_given = false;
    std::string close_answer;  // the frame sent in its place
  };
  Rare& MakeRare() {
    if (!rare_) rare_ = std::make_unique<Rare>();
    return *rare_;
  }

  next_layer_type socket_;
  bool frames_writing_ = false;
  bool stream_writing_ = false;
  std::unique_ptr<Rare> rare_;  // null until first needed; kept from then on
  std::weak_ptr<Observer> observer_;
};

// Beast's closing handshake ends by tearing the TCP connection down; that is the socket's own.
template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, SerializedWriteSocket& socket,
                    TeardownHandler&& handler) {
  boost::beast::websocket::async_teardown(role, socket.next_layer(),
                                          std::forward<TeardownHandler>(handler));
}

}  // namespace dorm::net
