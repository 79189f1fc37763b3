#include "net/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <optional>

#include "net/access_gate.h"
#include "net/route.h"
#include "net/web_socket_connection.h"
#include "util/log.h"

namespace dorm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct HttpServer::Loop {
  asio::io_context io{1};
  std::optional<tcp::acceptor> acceptor;
  std::unique_ptr<runtime::ThreadEngine> engine;
  std::thread thread;
};

namespace {

runtime::HttpResponseData Plain(int status, const std::string& message) {
  return runtime::HttpResponseData::JsonError(status, message);
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer& server, HttpServer::Loop* loop)
      : socket_(std::move(socket)), server_(server), loop_(loop), io_(loop->io) {}

  void Start() { Read(); }

  void Serve(http::request<http::string_body> req) {
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    std::string host(req[http::field::host]);
    std::string target(req.target());
    // The request is handed to the loop that owns its object; measured on a hot object, that
    // beats moving the connection to the owner, since the other loops then share the HTTP work.
    // (A WebSocket, once upgraded, does move to the owner: all its traffic is the object's.)
    HttpServer::Plan plan = server_.PlanRequest(target, host);
    owner_ = plan.owner;
    upgrade_request_.reset();
    if (plan.route.kind == RouteKind::kObject && websocket::is_upgrade(req)) upgrade_request_ = req;
    runtime::HttpRequestData data;
    data.method = std::string(req.method_string());
    for (const auto& field : req.base()) {
      data.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    data.body = std::move(req.body());
    server_.Handle(loop_, std::move(plan), std::move(data), target, host,
                   [self = shared_from_this()](runtime::HttpResponseData response) {
                     if (self->loop_->thread.get_id() == std::this_thread::get_id()) {
                       self->Write(std::move(response));
                       return;
                     }
                     asio::post(self->io_, [self, response = std::move(response)]() mutable {
                       self->Write(std::move(response));
                     });
                   });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options().max_header_bytes));
    parser_->body_limit(server_.options().max_body_bytes);
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      Close();
      return;
    }
    if (ec) {
      if (ec == http::error::header_limit) {
        WriteError(431, "Request header fields too large.");
      } else if (ec == http::error::body_limit) {
        WriteError(413, "Request body too large: the limit is " +
                            std::to_string(server_.options().max_body_bytes) + " bytes.");
      } else if (ec.category() == http::make_error_code(http::error::bad_method).category() ||
                 ec == http::error::buffer_overflow) {
        WriteError(400, "Malformed HTTP request: " + ec.message() + ".");
      } else {
        Close();
      }
      return;
    }
    http::request<http::string_body> req = parser_->release();
    if (req.version() >= 11 && req.find(http::field::host) == req.end()) {
      // RFC 9112 section 3.2: an HTTP/1.1 request without Host is invalid.
      WriteError(400, "Malformed HTTP request: missing Host header.");
      return;
    }
    Serve(std::move(req));
  }

  void WriteError(int status, const std::string& message) {
    keep_alive_ = false;
    Write(Plain(status, message));
  }

  void Write(runtime::HttpResponseData data) {
    if (data.web_socket_id != 0) {
      if (upgrade_request_ && data.status == 101 && !server_.draining()) {
        Upgrade(std::move(data));
        return;
      }
      // Nobody will connect to the socket the object made: let it hear of that.
      uint64_t id = data.web_socket_id;
      HttpServer::Loop* owner = owner_;
      asio::post(owner->io, [owner, id] {
        if (owner->engine) owner->engine->OnWebSocketClosed(id, 1006, "", false);
      });
      if (!upgrade_request_) {
        data = Plain(500,
                     "The Durable Object answered with a WebSocket (status 101) a request that "
                     "is not a WebSocket upgrade.");
      } else {
        data = Plain(503, "The server is shutting down.");
      }
      keep_alive_ = false;
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    res->result(static_cast<unsigned>(data.status));
    if (!data.status_text.empty()) res->reason(data.status_text);
    res->version(11);
    for (auto& [name, value] : data.headers) {
      if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
          beast::iequals(name, "connection")) {
        continue;
      }
      res->insert(name, value);
    }
    res->body() = std::move(data.body);
    bool keep = keep_alive_ && !server_.draining();
    res->keep_alive(keep);
    res->prepare_payload();
    if (head_) res->body().clear();
    http::async_write(socket_, *res,
                      [self = shared_from_this(), res, keep](beast::error_code ec, size_t) {
                        if (ec || !keep) {
                          self->Close();
                          return;
                        }
                        self->Read();
                      });
  }

  // Completes a WebSocket upgrade: the connection moves to the loop that owns the object, which
  // answers the handshake and attaches the connection to the object's socket.
  void Upgrade(runtime::HttpResponseData data) {
    HttpServer::Loop* owner = owner_;
    uint64_t id = data.web_socket_id;
    auto request = std::make_shared<http::request<http::string_body>>(std::move(*upgrade_request_));
    auto headers = std::make_shared<runtime::HeaderList>(std::move(data.headers));
    const WebSocketOptions& options = server_.options().web_socket;
    if (owner == loop_) {
      std::make_shared<WebSocketConnection>(std::move(socket_), owner->engine.get(), id, options)
          ->Start(std::move(*request), *headers);
      return;
    }
    beast::error_code ec;
    auto protocol = socket_.local_endpoint(ec).protocol();
    int fd = socket_.release(ec);
    if (ec) {
      Close();
      asio::post(owner->io, [owner, id] {
        if (owner->engine) owner->engine->OnWebSocketClosed(id, 1006, "", false);
      });
      return;
    }
    asio::post(owner->io, [owner, id, protocol, fd, request, headers, &options] {
      tcp::socket socket(owner->io, protocol, fd);
      if (!owner->engine) return;
      std::make_shared<WebSocketConnection>(std::move(socket), owner->engine.get(), id, options)
          ->Start(std::move(*request), *headers);
    });
  }

  void Close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  HttpServer& server_;
  HttpServer::Loop* loop_;
  asio::io_context& io_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool head_ = false;
  HttpServer::Loop* owner_ = nullptr;
  std::optional<http::request<http::string_body>> upgrade_request_;
};

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, runtime::RuntimeShared& runtime,
                       AdminHandler admin)
    : options_(std::move(options)), runtime_(runtime), admin_(std::move(admin)) {
  int n = options_.threads > 0 ? options_.threads
                               : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) loops_.push_back(std::make_unique<Loop>());
}

HttpServer::~HttpServer() { Stop(std::chrono::milliseconds(0)); }

unsigned short HttpServer::Start() {
  tcp::endpoint endpoint(asio::ip::make_address(options_.host), options_.port);
  unsigned short port = options_.port;
  for (auto& loop : loops_) {
    // Every loop has its own acceptor on the same port (SO_REUSEPORT): the kernel spreads
    // connections across loops without a shared accept queue.
    loop->acceptor.emplace(loop->io);
    loop->acceptor->open(endpoint.protocol());
    loop->acceptor->set_option(asio::socket_base::reuse_address(true));
    int one = 1;
    ::setsockopt(loop->acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    loop->acceptor->bind(tcp::endpoint(endpoint.address(), port));
    loop->acceptor->listen(asio::socket_base::max_listen_connections);
    port = loop->acceptor->local_endpoint().port();
  }
  std::vector<std::promise<void>> ready(loops_.size());
  for (size_t i = 0; i < loops_.size(); ++i) {
    Loop* loop = loops_[i].get();
    std::promise<void>* started = &ready[i];
    loop->thread = std::thread([this, loop, started] {
      loop->engine = std::make_unique<runtime::ThreadEngine>(loop->io, runtime_);
      Accept(loop);
      started->set_value();
      auto guard = asio::make_work_guard(loop->io);
      loop->io.run();
      loop->engine.reset();
    });
  }
  for (auto& r : ready) r.get_future().wait();
  return port;
}

void HttpServer::Accept(Loop* loop) {
  loop->acceptor->async_accept(loop->io, [this, loop](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !loop->acceptor->is_open()) return;
      Log(LogLevel::kWarn, "accept failed: " + ec.message());
    } else {
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket), *this, loop)->Start();
    }
    if (loop->acceptor->is_open()) Accept(loop);
  });
}

void HttpServer::FireAlarm(const runtime::ObjectAddress& address, long long scheduled_ms,
                           int retry_count) {
  Loop* loop = loops_[std::hash<std::string>{}(address.app + '\n' + address.class_name + '\n' +
                                               address.instance_name) %
                      loops_.size()]
                   .get();
  asio::post(loop->io, [loop, address, scheduled_ms, retry_count] {
    if (loop->engine) loop->engine->FireAlarm(address, scheduled_ms, retry_count);
  });
}

HttpServer::Plan HttpServer::PlanRequest(const std::string& target, const std::string& host) {
  Plan plan;
  plan.route = RouteTarget(target);
  if (plan.route.kind != RouteKind::kObject) return plan;
  plan.address.app = AppFromHost(
      host, [this](const std::string& name) { return runtime_.catalog.Get(name) != nullptr; });
  plan.address.class_name = plan.route.class_name;
  plan.address.instance_name = plan.route.instance_id;
  // A stable hash of the object's address picks its thread, so it always lives on the same one.
  // (The object id itself, an HMAC, is derived once, when the thread creates the object.)
  size_t owner = std::hash<std::string>{}(plan.address.app + '\n' + plan.address.class_name + '\n' +
                                          plan.address.instance_name) %
                 loops_.size();
  plan.owner = loops_[owner].get();
  return plan;
}

void HttpServer::Handle(Loop* here, Plan plan, runtime::HttpRequestData request,
                        const std::string& target, const std::string& host,
                        std::function<void(runtime::HttpResponseData)> respond) {
  switch (plan.route.kind) {
    case RouteKind::kAdmin:
      request.url = target;
      admin_(plan.route.admin_path, std::move(request), std::move(respond));
      return;
    case RouteKind::kBadRequest:
      respond(Plain(400, plan.route.error));
      return;
    case RouteKind::kNotFound:
      respond(Plain(404, plan.route.error));
      return;
    case RouteKind::kObject:
      break;
  }
  request.url = "http://" + (host.empty() ? std::string("localhost") : host) + plan.route.forwarded;
  std::string protocol_fallback;
  if (auto refused = CheckObjectAccess(runtime_.catalog, authorizer_, plan.address.app,
                                       plan.address.class_name, request, &protocol_fallback)) {
    respond(std::move(*refused));
    return;
  }
  size_t q = target.find('?');
  request.headers.emplace_back("x-dorm-original-path", target.substr(0, q));
  Loop* loop = plan.owner;
  ++active_requests_;
  auto done = [this, respond = std::move(respond),
               protocol_fallback =
                   std::move(protocol_fallback)](runtime::HttpResponseData response) {
    --active_requests_;
    ApplyProtocolFallback(protocol_fallback, response);
    respond(std::move(response));
  };
  if (loop == here) {
    loop->engine->DispatchFetch(std::move(plan.address), std::move(request), std::move(done));
    return;
  }
  asio::post(loop->io, [loop, address = std::move(plan.address), request = std::move(request),
                        done = std::move(done)]() mutable {
    loop->engine->DispatchFetch(std::move(address), std::move(request), std::move(done));
  });
}

void HttpServer::RunOnEveryEngine(const std::function<void(runtime::ThreadEngine&)>& fn) {
  std::vector<std::promise<void>> done(loops_.size());
  for (size_t i = 0; i < loops_.size(); ++i) {
    Loop* loop = loops_[i].get();
    std::promise<void>* p = &done[i];
    asio::post(loop->io, [loop, p, &fn] {
      if (loop->engine) fn(*loop->engine);
      p->set_value();
    });
  }
  for (auto& p : done) p.get_future().wait();
}

void HttpServer::Stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  draining_ = true;
  for (auto& loop : loops_) {
    asio::post(loop->io, [l = loop.get()] {
      beast::error_code ignored;
      if (l->acceptor) l->acceptor->close(ignored);
    });
  }
  auto deadline = std::chrono::steady_clock::now() + grace;
  for (;;) {
    std::atomic<size_t> outstanding{0};
    RunOnEveryEngine(
        [&](runtime::ThreadEngine& engine) { outstanding += engine.OutstandingWork(); });
    if ((outstanding == 0 && active_requests_ == 0) || std::chrono::steady_clock::now() >= deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  RunOnEveryEngine([](runtime::ThreadEngine& engine) { engine.CloseAll(); });
  // WebSockets were sent a Close (1001); give the frames a moment to leave.
  auto close_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (WebSocketConnection::LiveCount() > 0 &&
         std::chrono::steady_clock::now() < close_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& loop : loops_) loop->io.stop();
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

}  // namespace dorm::net
