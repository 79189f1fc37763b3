// The client behind fetch() to the outside world: HTTP/1.1 and HTTP/2 over TCP or TLS, through
// libcurl's multi interface driven by one Asio event loop. Nothing here blocks the loop: DNS runs
// on libcurl's resolver threads, sockets are watched by the loop's reactor.
//
// One exchange is one request and its response, without following redirects (the caller does,
// as fetch() specifies, so that every hop is a new exchange and passes the address check again).
// Each connection is opened only to an address the AddressPolicy permits, checked after DNS
// resolution; connections are reused between exchanges of the same client. TLS verifies the
// peer's certificate against the system's CA store (plus an optional extra CA file) and its host
// name; SNI is sent. Compressed bodies (gzip, deflate, br, zstd) are decoded.
//
// The response body is streamed: the head is reported as soon as it has arrived, and the body is
// then read with Read() as it comes. Each exchange holds at most about kHighWater received bytes
// that were not read (the transfer pauses, and the socket's window fills, until they are), and the
// exchanges sharing a ByteBudget hold at most its limit (plus one write of libcurl's each, so that
// the one being read always progresses). The exchange timeout covers the time until the head has
// arrived; a body may take as long as it takes.
//
// Threading: an HttpClient belongs to the thread running its io_context. Every method must be
// called on that thread, and every callback runs on it, never from inside Start() or Cancel().
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "outbound/client_options.h"
#include "outbound/exchange.h"

namespace dorm::outbound {

class HttpClient {
 public:
  using Id = uint64_t;
  // Exactly one of the two arguments is set. Runs once per exchange unless it was cancelled: with
  // the response's head (its body is then read with Read()), or with why it failed first (the
  // exchange is then over).
  using Head = std::function<void(ExchangeResponse*, ExchangeError*)>;
  // Runs when a Read() that found nothing new has something to give (bytes, the end or an error).
  using Wake = std::function<void()>;

  static constexpr size_t kHighWater = 256u << 10;

  // What Read() gives: the body's bytes received since the last Read(), then whether the body
  // ended, and if so whether it failed (`error` set).
  struct Chunk {
    std::string bytes;
    bool ended = false;
    bool failed = false;
    ExchangeError error;
  };

  // Throws std::runtime_error if libcurl cannot be set up.
  HttpClient(boost::asio::io_context& io, std::shared_ptr<const ClientOptions> options);
  ~HttpClient();  // drops every exchange in flight without calling its Done
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts an exchange. `head` and `wake` run later on the loop (never inside a method of this
  // class). Bytes sent and received on the wire are added to the totals below.
  Id Start(ExchangeRequest request, Head head, Wake wake);

  // After the head: the body's bytes received so far. Once it returns `ended`, the exchange is
  // over and its id unknown. When it returns nothing new, `wake` runs once there is something.
  Chunk Read(Id id);

  // Ends the exchange `id` if it is still running (its connection is closed, not reused, if its
  // body was not complete); its callbacks are not called any more.
  void Cancel(Id id);

  size_t in_flight() const { return exchanges_.size(); }
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }

 private:
  struct Exchange;
  struct Socket;

  static int OnSocket(void* easy, int fd, int what, void* client, void* socket_data);
  static int OnTimer(void* multi, long timeout_ms, void* client);
  static int OnOpenSocket(void* exchange, int purpose, void* address);
  static int OnCloseSocket(void* client, int fd);
  static size_t OnHeader(char* data, size_t size, size_t count, void* exchange);
  static size_t OnBody(char* data, size_t size, size_t count, void* exchange);
  static size_t OnUpload(char* data, size_t size, size_t count, void* exchange);

  // Queues `exchange` for Deliver(), which runs its callbacks from the loop.
  void Notify(Exchange* exchange);
  void Deliver();
  void Resume(Exchange* exchange);
  void HeadTimedOut(Id id);

  void Watch(int fd, int what);
  void Arm(const std::shared_ptr<Socket>& socket, bool write);
  void Act(int fd, int events);
  void CollectFinished();
  void Finish(Exchange* exchange, int curl_code);

  boost::asio::io_context& io_;
  std::shared_ptr<const ClientOptions> options_;
  void* multi_ = nullptr;  // CURLM*
  boost::asio::steady_timer timer_;
  std::unordered_map<int, std::shared_ptr<Socket>> sockets_;
  std::unordered_map<Id, std::unique_ptr<Exchange>> exchanges_;
  std::vector<Id> news_;  // exchanges with something for their callbacks
  bool deliver_posted_ = false;
  Id next_id_ = 1;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  // Cleared by the destructor, so that handlers still queued on the loop do nothing.
  std::shared_ptr<bool> alive_;
};

}  // namespace dorm::outbound
