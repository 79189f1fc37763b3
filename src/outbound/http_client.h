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
  // Exactly one of the two arguments is set. Runs once per exchange unless it was cancelled.
  using Done = std::function<void(ExchangeResponse*, ExchangeError*)>;

  // Throws std::runtime_error if libcurl cannot be set up.
  HttpClient(boost::asio::io_context& io, std::shared_ptr<const ClientOptions> options);
  ~HttpClient();  // drops every exchange in flight without calling its Done
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts an exchange. `done` runs later on the loop (never inside Start), with the response or
  // the error. Bytes sent and received on the wire are added to the totals below.
  Id Start(ExchangeRequest request, Done done);

  // Ends the exchange `id` if it is still running; its Done is not called.
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
  Id next_id_ = 1;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  // Cleared by the destructor, so that handlers still queued on the loop do nothing.
  std::shared_ptr<bool> alive_;
};

}  // namespace dorm::outbound
