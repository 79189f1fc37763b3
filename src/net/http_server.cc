#include "net/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <optional>

#include "net/route.h"
#include "util/log.h"

namespace dorm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
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
  Session(tcp::socket socket, HttpServer& server, asio::io_context& io)
      : socket_(std::move(socket)), server_(server), io_(io) {}

  void Start() { Read(); }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options().max_header_bytes));
    parser_->body_limit(server_.options().max_body_bytes);
    http::async_read(socket_, buffer_, *parser_,
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
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    runtime::HttpRequestData data;
    data.method = std::string(req.method_string());
    for (const auto& field : req.base()) {
      data.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    data.body = std::move(req.body());
    std::string host(req[http::field::host]);
    std::string target(req.target());
    server_.Handle(io_, std::move(data), target, host,
                   [self = shared_from_this()](runtime::HttpResponseData response) {
                     asio::post(self->io_, [self, response = std::move(response)]() mutable {
                       self->Write(std::move(response));
                     });
                   });
  }

  void WriteError(int status, const std::string& message) {
    keep_alive_ = false;
    Write(Plain(status, message));
  }

  void Write(runtime::HttpResponseData data) {
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
    http::async_write(socket_, *res, [self = shared_from_this(), res, keep](beast::error_code ec, size_t) {
      if (ec || !keep) {
        self->Close();
        return;
      }
      self->Read();
    });
  }

  void Close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  HttpServer& server_;
  asio::io_context& io_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool head_ = false;
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
      std::make_shared<Session>(std::move(socket), *this, loop->io)->Start();
    }
    if (loop->acceptor->is_open()) Accept(loop);
  });
}

void HttpServer::Handle(asio::io_context& from, runtime::HttpRequestData request,
                        const std::string& target, const std::string& host,
                        std::function<void(runtime::HttpResponseData)> respond) {
  Route route = RouteTarget(target);
  switch (route.kind) {
    case RouteKind::kAdmin:
      request.url = target;
      admin_(route.admin_path, std::move(request), std::move(respond));
      return;
    case RouteKind::kBadRequest:
      respond(Plain(400, route.error));
      return;
    case RouteKind::kNotFound:
      respond(Plain(404, route.error));
      return;
    case RouteKind::kObject:
      break;
  }
  std::string app = AppFromHost(host, [this](const std::string& name) {
    return runtime_.catalog.Get(name) != nullptr;
  });
  auto code = runtime_.catalog.Get(app);
  if (!code || !code->Find(route.class_name)) {
    respond(Plain(404, "No Durable Object class named '" + route.class_name + "' in app '" + app + "'."));
    return;
  }
  runtime::ObjectAddress address;
  address.app = app;
  address.class_name = route.class_name;
  address.instance_name = route.instance_id;
  request.url = "http://" + (host.empty() ? std::string("localhost") : host) + route.forwarded;
  size_t q = target.find('?');
  request.headers.emplace_back("x-dorm-original-path", target.substr(0, q));
  // A stable hash of the object's address picks its thread, so it always lives on the same one.
  // (The object id itself, an HMAC, is derived once, when the thread creates the object.)
  size_t owner = std::hash<std::string>{}(app + '\n' + route.class_name + '\n' + route.instance_id) %
                 loops_.size();
  Loop* loop = loops_[owner].get();
  ++active_requests_;
  auto done = [this, respond = std::move(respond)](runtime::HttpResponseData response) {
    --active_requests_;
    respond(std::move(response));
  };
  if (&loop->io == &from) {
    loop->engine->DispatchFetch(std::move(address), std::move(request), std::move(done));
    return;
  }
  asio::post(loop->io, [loop, address = std::move(address), request = std::move(request),
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
    RunOnEveryEngine([&](runtime::ThreadEngine& engine) { outstanding += engine.OutstandingWork(); });
    if ((outstanding == 0 && active_requests_ == 0) || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  RunOnEveryEngine([](runtime::ThreadEngine& engine) { engine.CloseAll(); });
  for (auto& loop : loops_) loop->io.stop();
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

}  // namespace dorm::net
