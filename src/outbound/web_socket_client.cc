#include "outbound/web_socket_client.h"

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <stdexcept>
#include <type_traits>

namespace dorm::outbound {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

constexpr char kLostReason[] = "WebSocket disconnected without sending Close frame.";

std::string WithoutBrackets(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

IpAddress AddressOf(const asio::ip::address& address) {
  if (address.is_v4()) return IpAddress::FromV4(address.to_v4().to_uint());
  const auto bytes = address.to_v6().to_bytes();
  return IpAddress::FromV6(bytes.data());
}

// One connection over `NextLayer` (beast::tcp_stream, or beast::ssl_stream of one).
template <typename NextLayer>
class ClientSession final : public WebSocketClient,
                            public std::enable_shared_from_this<ClientSession<NextLayer>> {
 public:
  static constexpr bool kTls = !std::is_same_v<NextLayer, beast::tcp_stream>;

  ClientSession(asio::io_context& io, std::shared_ptr<const ClientOptions> options,
                WebSocketRequest request, Callbacks callbacks,
                std::shared_ptr<ssl::context> tls_context)
      : options_(std::move(options)),
        request_(std::move(request)),
        callbacks_(std::move(callbacks)),
        tls_context_(std::move(tls_context)),
        resolver_(io),
        ws_(MakeStream(io, tls_context_.get())) {}

  void Start() {
    auto self = this->shared_from_this();
    resolver_.async_resolve(WithoutBrackets(request_.host), std::to_string(request_.port),
                            [self](beast::error_code ec, tcp::resolver::results_type results) {
                              self->OnResolved(ec, std::move(results));
                            });
  }

  void StartReading() override {
    if (reading_ || !open_ || aborted_) return;
    reading_ = true;
    Read();
  }

  void Send(bool text, std::shared_ptr<const std::string> payload) override {
    if (!open_ || close_requested_ || finished_ || aborted_) return;
    queued_bytes_ += payload->size();
    queue_.push_back({text, std::move(payload)});
    if (queued_bytes_ > request_.max_buffered_bytes && queue_.size() > 1) {
      // The peer does not keep up: what waits is dropped, and the object hears of it now.
      queue_.clear();
      queued_bytes_ = 0;
      Finish(1013, "The server is not reading its messages fast enough.", false,
             "The WebSocket's peer is not reading its messages fast enough.");
      Close(1013, "Too slow");
      return;
    }
    WriteNext();
  }

  void Close(int code, const std::string& reason) override {
    if (close_requested_ || aborted_ || !open_) return;
    close_requested_ = true;
    close_code_ = code;
    close_text_ = reason;
    if (!writing_) StartClose();
  }

  void Abort() override {
    if (aborted_) return;
    aborted_ = true;
    callbacks_ = Callbacks{};
    resolver_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  uint64_t bytes_sent() const override { return bytes_sent_; }
  uint64_t bytes_received() const override { return bytes_received_; }

 private:
  struct Queued {
    bool text;
    std::shared_ptr<const std::string> payload;
  };

  static NextLayer MakeStream(asio::io_context& io, ssl::context* context) {
    if constexpr (kTls) {
      return NextLayer(io, *context);
    } else {
      return NextLayer(io);
    }
  }

  void Fail(ExchangeError::Kind kind, std::string message) {
    if (aborted_) return;
    ExchangeError error{kind, std::move(message)};
    auto on_handshake = std::move(callbacks_.on_handshake);
    callbacks_ = Callbacks{};
    aborted_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    if (on_handshake) on_handshake(nullptr, &error);
  }

  void OnResolved(beast::error_code ec, tcp::resolver::results_type results) {
    if (aborted_) return;
    if (ec) {
      Fail(ExchangeError::Kind::kNetwork, "DNS lookup failed.");
      return;
    }
    std::vector<tcp::endpoint> permitted;
    std::string refusal;
    for (const auto& entry : results) {
      const IpAddress peer = AddressOf(entry.endpoint().address());
      std::string why;
      if (options_->policy.Permits(request_.host, peer, &why)) {
        permitted.push_back(entry.endpoint());
      } else if (refusal.empty()) {
        // The same words as fetch()'s refusal (outbound/http_client.cc).
        refusal = "fetch() to " + peer.ToString() + " is not allowed: " + why +
                  AddressPolicy::RefusalHint(why) + ".";
      }
    }
    if (permitted.empty()) {
      if (refusal.empty()) refusal = "DNS lookup failed.";
      Fail(ExchangeError::Kind::kRefusedAddress, refusal);
      return;
    }
    auto& stream = beast::get_lowest_layer(ws_);
    stream.expires_after(options_->connect_timeout);
    auto self = this->shared_from_this();
    stream.async_connect(
        permitted, [self](beast::error_code ec, const tcp::endpoint&) { self->OnConnected(ec); });
  }

  void OnConnected(beast::error_code ec) {
    if (aborted_) return;
    if (ec) {
      Fail(ec == beast::error::timeout ? ExchangeError::Kind::kTimeout
                                       : ExchangeError::Kind::kNetwork,
           ec == beast::error::timeout ? "The request timed out." : "Network connection lost.");
      return;
    }
    if constexpr (kTls) {
      const std::string host = WithoutBrackets(request_.host);
      SSL* handle = ws_.next_layer().native_handle();
      // SNI names a host, never an address (RFC 6066).
      beast::error_code parse_error;
      asio::ip::make_address(host, parse_error);
      if (parse_error && !SSL_set_tlsext_host_name(handle, host.c_str())) {
        Fail(ExchangeError::Kind::kTls, "TLS handshake failed: SNI could not be set.");
        return;
      }
      ws_.next_layer().set_verify_mode(ssl::verify_peer);
      ws_.next_layer().set_verify_callback(ssl::host_name_verification(host));
      beast::get_lowest_layer(ws_).expires_after(options_->connect_timeout);
      auto self = this->shared_from_this();
      ws_.next_layer().async_handshake(ssl::stream_base::client, [self](beast::error_code ec) {
        if (self->aborted_) return;
        if (ec) {
          std::string detail = ec.message();
          self->Fail(ExchangeError::Kind::kTls, "TLS handshake failed: " + detail + ".");
          return;
        }
        self->Handshake();
      });
    } else {
      Handshake();
    }
  }

  void Handshake() {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeout;
    timeout.handshake_timeout =
        std::chrono::duration_cast<websocket::stream_base::duration>(options_->connect_timeout);
    timeout.idle_timeout = websocket::stream_base::none();
    timeout.keep_alive_pings = false;
    ws_.set_option(timeout);
    ws_.read_message_max(request_.max_message_bytes);
    auto headers = request_.headers;
    ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      req.erase(http::field::user_agent);
      for (const auto& [name, value] : headers) req.insert(name, value);
    }));
    const bool default_port = request_.port == (request_.tls ? 443 : 80);
    host_header_ =
        default_port ? request_.host : request_.host + ":" + std::to_string(request_.port);
    auto self = this->shared_from_this();
    ws_.async_handshake(answer_, host_header_, request_.target,
                        [self](beast::error_code ec) { self->OnHandshake(ec); });
  }

  void OnHandshake(beast::error_code ec) {
    if (aborted_) return;
    WebSocketAnswer answer;
    answer.status = static_cast<int>(answer_.result_int());
    answer.status_text = std::string(answer_.reason());
    for (const auto& field : answer_) {
      answer.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    if (ec && answer.status != 0 && answer.status != 101) {
      // The server answered without switching protocols: that answer is the outcome.
      answer.body = std::move(answer_.body());
      auto on_handshake = std::move(callbacks_.on_handshake);
      callbacks_ = Callbacks{};
      aborted_ = true;
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
      if (on_handshake) on_handshake(&answer, nullptr);
      return;
    }
    if (ec) {
      Fail(ec == beast::error::timeout ? ExchangeError::Kind::kTimeout
                                       : ExchangeError::Kind::kNetwork,
           ec == beast::error::timeout ? "The request timed out." : "Network connection lost.");
      return;
    }
    answer_ = {};
    open_ = true;
    auto on_handshake = std::move(callbacks_.on_handshake);
    if (on_handshake) on_handshake(&answer, nullptr);
  }

  void Read() {
    auto self = this->shared_from_this();
    ws_.async_read(buffer_, [self](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (aborted_) return;
    if (ec) {
      if (close_started_ && ec != websocket::error::closed &&
          ec != websocket::error::message_too_big) {
        return;  // our close handshake is under way: its completion reports the end
      }
      if (ec == websocket::error::closed) {
        const websocket::close_reason& reason = ws_.reason();
        const int code = reason.code == websocket::close_code::none ? 1005 : reason.code;
        Finish(code, std::string(reason.reason.data(), reason.reason.size()), true, "");
      } else if (ec == websocket::error::message_too_big) {
        Finish(1009, "Message too big", false,
               "The WebSocket's peer sent a message larger than this server allows (" +
                   std::to_string(request_.max_message_bytes) + " bytes).");
        Close(1009, "Message too big");
      } else {
        Finish(1006, kLostReason, false, "");
      }
      return;
    }
    bytes_received_ += buffer_.size();
    const bool text = ws_.got_text();
    std::string data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.clear();
    buffer_.shrink_to_fit();
    if (callbacks_.on_message) callbacks_.on_message(text, std::move(data));
    if (aborted_ || finished_) return;
    Read();
  }

  void WriteNext() {
    if (writing_ || aborted_) return;
    if (queue_.empty()) {
      if (close_requested_ && !close_started_) StartClose();
      return;
    }
    writing_ = true;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= current_.payload->size();
    ws_.text(current_.text);
    auto self = this->shared_from_this();
    ws_.async_write(asio::buffer(*current_.payload),
                    [self](beast::error_code ec, size_t n) { self->OnWritten(ec, n); });
  }

  void OnWritten(beast::error_code ec, size_t n) {
    writing_ = false;
    current_ = {};
    if (aborted_) return;
    bytes_sent_ += n;
    if (ec) {
      queue_.clear();
      queued_bytes_ = 0;
      if (!reading_) Finish(1006, kLostReason, false, "");
      return;  // the read loop reports the end
    }
    WriteNext();
  }

  void StartClose() {
    if (close_started_ || aborted_) return;
    close_started_ = true;
    websocket::close_reason reason;
    if (close_code_ != 1005) {
      reason.code = static_cast<websocket::close_code>(close_code_);
      reason.reason = close_text_;
    }
    auto self = this->shared_from_this();
    ws_.async_close(reason, [self](beast::error_code ec) {
      if (self->aborted_) return;
      // The peer's answering Close (or its absence) ends the connection; a pending read may have
      // reported it already (Finish runs once).
      const websocket::close_reason& peer = self->ws_.reason();
      const int code = ec                                         ? 1006
                       : peer.code == websocket::close_code::none ? 1005
                                                                  : static_cast<int>(peer.code);
      self->Finish(code, ec ? kLostReason : std::string(peer.reason.data(), peer.reason.size()),
                   !ec, "");
    });
  }

  void Finish(int code, const std::string& reason, bool clean, const std::string& error) {
    if (finished_) return;
    finished_ = true;
    auto on_closed = std::move(callbacks_.on_closed);
    callbacks_.on_message = nullptr;
    if (on_closed) {
      // Never from inside a method the runtime called (Send may finish the connection).
      asio::post(ws_.get_executor(),
                 [self = this->shared_from_this(), on_closed, code, reason, clean, error]() {
                   if (!self->aborted_) on_closed(code, reason, clean, error);
                 });
    }
  }

  std::shared_ptr<const ClientOptions> options_;
  WebSocketRequest request_;
  Callbacks callbacks_;
  std::shared_ptr<ssl::context> tls_context_;  // before ws_, which refers to it
  tcp::resolver resolver_;
  websocket::stream<NextLayer, /*deflateSupported=*/false> ws_;
  websocket::response_type answer_;
  std::string host_header_;
  beast::flat_buffer buffer_;
  std::deque<Queued> queue_;
  Queued current_;
  size_t queued_bytes_ = 0;
  bool open_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool close_requested_ = false;
  bool close_started_ = false;
  bool finished_ = false;
  bool aborted_ = false;
  int close_code_ = 1005;
  std::string close_text_;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
};

std::shared_ptr<ssl::context> MakeTlsContext(const ClientOptions& options) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  beast::error_code ec;
  context->set_default_verify_paths(ec);
  if (ec) throw std::runtime_error("the system's CA certificates could not be loaded");
  if (!options.extra_ca_file.empty()) {
    context->load_verify_file(options.extra_ca_file, ec);
    if (ec) throw std::runtime_error("--outbound-ca could not be loaded: " + ec.message());
  }
  context->set_verify_mode(ssl::verify_peer);
  return context;
}

}  // namespace

std::shared_ptr<WebSocketClient> WebSocketClient::Connect(
    asio::io_context& io, std::shared_ptr<const ClientOptions> options, WebSocketRequest request,
    Callbacks callbacks) {
  if (request.tls) {
    auto context = MakeTlsContext(*options);
    using Session = ClientSession<beast::ssl_stream<beast::tcp_stream>>;
    auto session = std::make_shared<Session>(io, std::move(options), std::move(request),
                                             std::move(callbacks), std::move(context));
    session->Start();
    return session;
  }
  using Session = ClientSession<beast::tcp_stream>;
  auto session = std::make_shared<Session>(io, std::move(options), std::move(request),
                                           std::move(callbacks), nullptr);
  session->Start();
  return session;
}

}  // namespace dorm::outbound
