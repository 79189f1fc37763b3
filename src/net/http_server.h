// The network front: an HTTP/1.1 server (Boost.Beast) with one event-loop thread per core, each
// owning a runtime ThreadEngine. Requests to /_do/... are routed to the thread that owns the
// object (a stable hash of its id), so an object always lives on one thread; /_admin/... goes to
// the admin handler.
//
// Threading: Start(), Stop() and Wait() are called from one controlling thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

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
  size_t max_body_bytes = 100u << 20;
  size_t max_header_bytes = 64u << 10;
  WebSocketOptions web_socket;
};

// Handles an admin request; `respond` may be called from any thread, exactly once.
using AdminHandler =
    std::function<void(const std::string& admin_path, runtime::HttpRequestData request,
                       std::function<void(runtime::HttpResponseData)> respond)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, runtime::RuntimeShared& runtime, AdminHandler admin);
  ~HttpServer();

  // Binds, starts the threads, and returns the port actually bound. Throws on bind failure.
  unsigned short Start();
  // Stops accepting, lets in-flight requests and flushes finish (at most `grace`), closes every
  // object, and stops the threads. Idempotent.
  void Stop(std::chrono::milliseconds grace);

  int thread_count() const { return static_cast<int>(loops_.size()); }
  // Hands an alarm to the loop that owns its object. Any thread.
  void FireAlarm(const runtime::ObjectAddress& address, long long scheduled_ms, int retry_count);
  // Decides on credentials for classes that are not public (see net/access_gate.h); without one,
  // such classes refuse every request. Set before Start(); must outlive the server.
  void set_authorizer(const RequestAuthorizer* authorizer) { authorizer_ = authorizer; }
  // Runs `fn(engine)` on every runtime thread and waits for all. Not from a runtime thread.
  void RunOnEveryEngine(const std::function<void(runtime::ThreadEngine&)>& fn);

  // --- For sessions. ---
  struct Loop;  // one event-loop thread: its io_context, acceptor and runtime engine

  // Where a request goes. For an object, `owner` is the loop its object lives on.
  struct Plan {
    Route route;
    runtime::ObjectAddress address;
    Loop* owner = nullptr;
  };
  Plan PlanRequest(const std::string& target, const std::string& host);
  // Serves a planned request on the calling loop `here`; `respond` runs on the loop that owns
  // the object (or the admin worker) and must post back to the connection's loop itself.
  void Handle(Loop* here, Plan plan, runtime::HttpRequestData request, const std::string& target,
              const std::string& host, std::function<void(runtime::HttpResponseData)> respond);
  bool draining() const { return draining_.load(); }
  const HttpServerOptions& options() const { return options_; }

 private:
  void Accept(Loop* loop);

  HttpServerOptions options_;
  runtime::RuntimeShared& runtime_;
  AdminHandler admin_;
  const RequestAuthorizer* authorizer_ = nullptr;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<bool> draining_{false};
  std::atomic<long> active_requests_{0};
  bool stopped_ = false;
};

}  // namespace dorm::net
