// The network front: an HTTP/1.1 server (Boost.Beast) with one event-loop thread per core, each
// owning a runtime ThreadEngine, and one thread that accepts connections and hands each to an
// event loop not busy with a long turn. Requests to /_do/... are routed to the thread the object
// lives on (runtime::ObjectPlacement: its home thread, a stable hash of its address, unless that
// thread was busy with a long turn when the object was placed), so an object lives on one thread
// at a time; /_admin/... goes to the admin handler.
//
// Each request is read in two steps: its head (bounded by max_header_bytes and header_timeout),
// which is checked (net/request_head.h), routed and authorized (Admit) before any of its body is
// read; then its body, counted against a server-wide budget (net/body_budget.h). A request refused
// on its head is answered at once; if it announced a body, the connection is then closed (after
// discarding what the client still sends for a moment, so that it reads the answer). Every Beast
// exception on the request and response paths is caught and answered (400, 431, 500) for that
// request alone.
//
// Threading: Start(), Stop() and Wait() are called from one controlling thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/body_budget.h"
#include "net/request_authorizer.h"
#include "net/route.h"
#include "net/web_socket_connection.h"
#include "runtime/http_message.h"
#include "runtime/thread_engine.h"

namespace dorm::net {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 8787;
  int threads = 0;  // 0: one per core
  // Per request: a larger body is refused with 413, a larger head with 431.
  size_t max_body_bytes = 100u << 20;
  size_t max_header_bytes = 64u << 10;
  // Server-wide: the request body bytes buffered at once by all connections together. A body
  // that would pass it is refused with 503 (and its connection closed).
  size_t max_buffered_body_bytes = 256u << 20;
  // Open connections (HTTP and WebSocket) at once; past it, a new connection is answered 503 and
  // closed. 0: no limit (serve sets one from the descriptor limit).
  size_t max_connections = 0;
  // A request head must arrive within `header_timeout` of its first byte (or of the connection);
  // a body, or a response being written, must progress every `body_timeout`; a kept-alive
  // connection may wait `keep_alive_timeout` for its next request.
  std::chrono::seconds header_timeout{60};
  std::chrono::seconds body_timeout{60};
  std::chrono::seconds keep_alive_timeout{75};
  WebSocketOptions web_socket;
  // A socket already bound and listening (HttpServer::BindListener) to serve instead of binding
  // host:port; -1: bind in Start(). The server takes it over and closes it when it stops.
  int listen_fd = -1;
};

// Decides on an admin request from its head alone, before its body is read: the response to send
// instead (e.g. 401), or nullopt to read the body and pass the request to the AdminHandler.
// Called on event-loop threads; must be thread-safe and quick.
using AdminGate =
    std::function<std::optional<runtime::HttpResponseData>(const runtime::HttpRequestData& head)>;

// Handles an admin request; `respond` may be called from any thread, exactly once.
using AdminHandler =
    std::function<void(const std::string& admin_path, runtime::HttpRequestData request,
                       std::function<void(runtime::HttpResponseData)> respond)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, runtime::RuntimeShared& runtime, AdminHandler admin);
  ~HttpServer();

  // Binds (or takes options.listen_fd), starts the threads, and returns the port actually bound.
  // Throws std::runtime_error on bind failure.
  unsigned short Start();

  // Binds `host`:`port` and listens, without SO_REUSEPORT, so that a second server on the same
  // port fails instead of splitting the traffic. Returns the descriptor (close-on-exec); throws
  // std::runtime_error with the system's message.
  static int BindListener(const std::string& host, unsigned short port);
  // Stops accepting, lets in-flight requests and flushes finish (at most `grace`), closes every
  // object, and stops the threads. Idempotent.
  void Stop(std::chrono::milliseconds grace);

  int thread_count() const { return static_cast<int>(loops_.size()); }
  // Hands an alarm to the loop that owns its object. Any thread.
  void FireAlarm(const runtime::ObjectAddress& address, long long scheduled_ms, int retry_count);
  // Decides on credentials for classes that are not public (see net/access_gate.h); without one,
  // such classes refuse every request. Set before Start(); must outlive the server.
  void set_authorizer(const RequestAuthorizer* authorizer) { authorizer_ = authorizer; }
  // Checks admin requests on their head (see AdminGate). Set before Start().
  void set_admin_gate(AdminGate gate) { admin_gate_ = std::move(gate); }
  // Runs `fn(engine)` on every runtime thread and waits for all. Not from a runtime thread.
  void RunOnEveryEngine(const std::function<void(runtime::ThreadEngine&)>& fn);

  // --- For sessions. ---
  struct Loop;  // one event-loop thread: its io_context and runtime engine

  // Where a request goes. For an object, `owner` is the loop its object lives on.
  struct Plan {
    Route route;
    runtime::ObjectAddress address;
  };
  Plan PlanRequest(const std::string& target, const std::string& host);
  // Decides on a planned request from its head (`request` without body): the response to send
  // instead (400/404 for the route, an unknown class, or a refused credential), or nullopt when
  // its body may be read and the request dispatched. Adjusts `request` for the application (URL,
  // credentials, x-dorm-original-path). Any loop thread.
  // The loop that object `address` lives on, placing it if it is not placed (see
  // runtime::ObjectPlacement); the caller must hand it exactly one event (DispatchFetch or
  // FireAlarm), which the engine reports as arrived. Any thread, after Start().
  Loop* RouteObject(const runtime::ObjectAddress& address);
  std::optional<runtime::HttpResponseData> Admit(const Plan& plan,
                                                 runtime::HttpRequestData& request,
                                                 const std::string& target, const std::string& host,
                                                 std::string* protocol_fallback);
  // Serves an admitted request from the calling loop `here`: an object's request goes to `owner`,
  // which RouteObject() gave for it (nullptr for an admin request); `respond` runs on the owner's
  // loop (or the admin worker) and must post back to the connection's loop itself.
  void Dispatch(Loop* here, Loop* owner, Plan plan, runtime::HttpRequestData request,
                std::string protocol_fallback,
                std::function<void(runtime::HttpResponseData)> respond);
  bool draining() const { return draining_.load(); }
  const HttpServerOptions& options() const { return options_; }
  BodyBudget& body_budget() { return body_budget_; }
  // Open HTTP connections (WebSockets are counted by WebSocketConnection::LiveCount()).
  std::atomic<size_t>& http_connections() { return http_connections_; }

 private:
  // Accepting runs on accept_thread_ (Accept, OnAcceptError, HandOff and the fields they use).
  void Accept();
  void OnAcceptError(const boost::system::error_code& ec);
  // Gives an accepted connection to a loop not busy with a long turn (see
  // runtime::LongTurnLimit::Busy), in turn.
  void HandOff(boost::asio::ip::tcp::socket socket);
  // Answers 503 and closes a connection accepted past the connection limit.
  void RefuseConnection(int fd);

  HttpServerOptions options_;
  runtime::RuntimeShared& runtime_;
  AdminHandler admin_;
  AdminGate admin_gate_;
  BodyBudget body_budget_;
  std::atomic<size_t> http_connections_{0};
  const RequestAuthorizer* authorizer_ = nullptr;
  std::vector<std::unique_ptr<Loop>> loops_;
  boost::asio::io_context accept_io_{1};
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::optional<boost::asio::steady_timer> accept_retry_;  // back-off after a failed accept
  size_t next_loop_ = 0;                                   // the next loop HandOff() tries first
  std::thread accept_thread_;
  std::atomic<bool> draining_{false};
  std::atomic<long> active_requests_{0};
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace dorm::net
