// The network front: an HTTP/1.1 server (Boost.Beast) whose connections run on the event loops of
// a runtime::EnginePool, and one thread of its own that accepts connections and hands each to a
// loop not busy with a long turn. Requests to /_do/... are handed to the pool, which delivers them
// on the loop their object lives on (see runtime::ObjectPlacement), so an object lives on one
// loop at a time; a WebSocket, once upgraded, moves to that loop. /_admin/... goes to the admin
// handler.
//
// Each request is read in two steps: its head (bounded by max_header_bytes and header_timeout),
// which is checked (net/request_head.h), routed and authorized (Admit) before any of its body is
// read; then its body, counted against a server-wide budget (net/body_budget.h). The body of a
// request to an object or a Worker streams: the request is dispatched after its head, and the body
// reaches the object's request.body as it comes (at most about 192 KiB of it held here, the socket
// read only as the object reads). A request refused
// on its head is answered at once; if it announced a body, the connection is then closed (after
// discarding what the client still sends for a moment, so that it reads the answer). Every Beast
// exception on the request and response paths is caught and answered (400, 431, 500) for that
// request alone.
//
// Threading: Start() and StopAccepting() are called from one controlling thread; sessions run on
// the pool's loops.
//
// Ownership: the pool is the caller's; it must be started before Start() and outlive the server.
// Connections live on the pool's loops until the pool stops.
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
#include "net/web_socket_options.h"
#include "runtime/http_message.h"
#include "runtime/object_address.h"

namespace dorm::runtime {
class EnginePool;
}  // namespace dorm::runtime
namespace dorm::cluster {
class ClusterNode;
}  // namespace dorm::cluster

namespace dorm::net {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 8787;
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
  // Cluster mode: how often a node says it is still working on a call another node sent it (an
  // interim "102 Processing"), a third of --peer-timeout-seconds (net/peer_call.h).
  std::chrono::milliseconds peer_progress_every{10000};
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
  HttpServer(HttpServerOptions options, runtime::EnginePool& pool, AdminHandler admin);
  ~HttpServer();  // StopAccepting()s

  // Binds (or takes options.listen_fd), starts the accepting thread, and returns the port actually
  // bound. Throws std::runtime_error on bind failure.
  unsigned short Start();

  // Binds `host`:`port` and listens, without SO_REUSEPORT, so that a second server on the same
  // port fails instead of splitting the traffic. Returns the descriptor (close-on-exec); throws
  // std::runtime_error with the system's message.
  static int BindListener(const std::string& host, unsigned short port);
  // Stops accepting and joins the accepting thread; from then on draining() is true, so that
  // responses close their connections and upgrades are refused. Connections already handed to the
  // loops stay there. Idempotent. (Shutting down: StopAccepting(), then drain and close the
  // pool's objects, WaitForWebSocketsToClose(), and stop the pool.)
  void StopAccepting();
  // Waits until every WebSocket connection is gone (closed by the engines, see
  // runtime::EnginePool::CloseAll) or until `deadline`, so that their Close frames can leave.
  void WaitForWebSocketsToClose(std::chrono::steady_clock::time_point deadline);

  // Decides on credentials for classes that are not public (see net/access_gate.h); without one,
  // such classes refuse every request. Set before Start(); must outlive the server.
  void set_authorizer(const RequestAuthorizer* authorizer) { authorizer_ = authorizer; }
  // Checks admin requests on their head (see AdminGate). Set before Start().
  void set_admin_gate(AdminGate gate) { admin_gate_ = std::move(gate); }
  // Cluster mode: a request for an object another node serves is forwarded there
  // (net/forward_tunnel.h), and requests forwarded by other nodes are checked
  // (cluster/forward_auth.h). Set before Start(); must outlive the server.
  void set_cluster(cluster::ClusterNode* cluster) { cluster_ = cluster; }
  cluster::ClusterNode* cluster() const { return cluster_; }

  // --- For sessions. ---
  // Where a request goes.
  struct Plan {
    Route route;
    runtime::ObjectAddress address;
  };
  Plan PlanRequest(const std::string& target, const std::string& host);
  // Decides on a planned request from its head (`request` without body): the response to send
  // instead (400/404 for the route, an unknown class, or a refused credential), or nullopt when
  // its body may be read and the request dispatched. Adjusts `request` for the application (URL,
  // credentials, x-dorm-original-path). Any loop thread.
  std::optional<runtime::HttpResponseData> Admit(const Plan& plan,
                                                 runtime::HttpRequestData& request,
                                                 const std::string& target, const std::string& host,
                                                 std::string* protocol_fallback);
  // Serves an admitted request: an object's request goes to loop `owner`, which
  // runtime::EnginePool::RouteObject() gave for it (nullopt for an admin request); `respond` runs
  // on the owner's loop (or the admin worker) and must post back to the connection's loop itself.
  // Any loop thread.
  void Dispatch(std::optional<size_t> owner, Plan plan, runtime::HttpRequestData request,
                std::string protocol_fallback,
                std::function<void(runtime::HttpResponseData)> respond);
  // Serves an object's fetch() of one of the server's own `/_do/` URLs of its own app
  // (net/own_url.h) as a client's request, without a socket: routed, checked against the class's
  // access mode with the request's own credentials, and dispatched to the object's loop. Returns
  // false, touching nothing, for any other URL (another app's, a Worker's, the admin API's) or
  // before Start(). Any loop thread; `respond` runs on the callee's loop. This is
  // runtime::RuntimeShared::local_fetch.
  bool ServeLocalFetch(const std::string& app, runtime::HttpRequestData& request,
                       std::function<void(runtime::HttpResponseData)>& respond);
  runtime::EnginePool& pool() const { return pool_; }
  bool draining() const { return draining_.load(); }
  const HttpServerOptions& options() const { return options_; }
  // What connections count against. Shared with each connection: the last handlers of a
  // connection may be destroyed after the server, with the loops' io_contexts (the pool outlives
  // the server), and its destructor still gives back what it took.
  struct ConnectionAccounts {
    explicit ConnectionAccounts(size_t max_buffered_body_bytes)
        : body_budget(max_buffered_body_bytes) {}
    BodyBudget body_budget;
    // Open HTTP connections (WebSockets are counted by WebSocketConnection::LiveCount()).
    std::atomic<size_t> http_connections{0};
  };
  const std::shared_ptr<ConnectionAccounts>& accounts() const { return accounts_; }

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
  runtime::EnginePool& pool_;
  AdminHandler admin_;
  AdminGate admin_gate_;
  std::shared_ptr<ConnectionAccounts> accounts_;
  const RequestAuthorizer* authorizer_ = nullptr;
  cluster::ClusterNode* cluster_ = nullptr;
  boost::asio::io_context accept_io_{1};
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::optional<boost::asio::steady_timer> accept_retry_;  // back-off after a failed accept
  size_t next_loop_ = 0;                                   // the next loop HandOff() tries first
  std::thread accept_thread_;
  std::atomic<bool> draining_{false};
  std::atomic<unsigned short> bound_port_{0};  // set by Start()
};

}  // namespace dorm::net
