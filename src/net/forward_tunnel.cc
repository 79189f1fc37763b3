#include "net/forward_tunnel.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>

#include "cluster/forward_auth.h"
#include "net/peer_address.h"
#include "net/peer_call_codec.h"
#include "util/log.h"

namespace dorm::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr size_t kPumpBytes = 64u << 10;
constexpr size_t kMaxResponseHead = 64u << 10;
constexpr auto kConnectTimeout = std::chrono::seconds(2);

constexpr char kUnavailableMessage[] =
    "Durable Object is not available on this node right now; retry the request.";
constexpr char kMovedMessage[] =
    "Durable Object moved to another node of the cluster; retry the request.";

// The value of header `name` (lower case) in a response head, or empty.
std::string HeaderValue(const std::string& head, const std::string& name) {
  size_t at = head.find("\r\n");
  while (at != std::string::npos && at + 2 < head.size()) {
    size_t start = at + 2;
    size_t end = head.find("\r\n", start);
    if (end == std::string::npos || end == start) break;
    size_t colon = head.find(':', start);
    if (colon != std::string::npos && colon < end && colon - start == name.size()) {
      bool same = true;
      for (size_t i = 0; i < name.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(head[start + i])) != name[i]) same = false;
      }
      if (same) {
        size_t value = colon + 1;
        while (value < end && (head[value] == ' ' || head[value] == '\t')) ++value;
        size_t last = end;
        while (last > value && (head[last - 1] == ' ' || head[last - 1] == '\t')) --last;
        return head.substr(value, last - value);
      }
    }
    at = end;
  }
  return std::string();
}

class Tunnel : public std::enable_shared_from_this<Tunnel> {
 public:
  Tunnel(tcp::socket client, std::string client_bytes, ForwardJob job,
         cluster::ClusterNode& cluster, std::shared_ptr<HttpServer::ConnectionAccounts> accounts)
      : client_(std::move(client)),
        peer_(client_.get_executor()),
        resolver_(client_.get_executor()),
        timer_(client_.get_executor()),
        client_bytes_(std::move(client_bytes)),
        job_(std::move(job)),
        cluster_(cluster),
        accounts_(std::move(accounts)) {
    ++accounts_->http_connections;
  }
  ~Tunnel() { --accounts_->http_connections; }

  void Start() {
    if (!job_.expect_continue) {
      Attempt(job_.node, job_.addr, 1);
      return;
    }
    // Answered here, as the server answers it for a request it serves: the owner is not asked
    // for it again.
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(client_, asio::buffer(kContinue, sizeof kContinue - 1),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        if (ec) return self->CloseAll();
                        self->Attempt(self->job_.node, self->job_.addr, 1);
                      });
  }

 private:
  void Attempt(const std::string& node, const std::string& addr, int hops) {
    hops_ = hops;
    node_ = node;
    std::string host, port;
    if (!SplitPeerAddress(addr, host, port)) {
      Log(LogLevel::kWarn,
          "cluster node " + node + " advertises an address Dorm cannot reach: " + addr);
      return Fail(kUnavailableMessage);
    }
    timer_.expires_after(kConnectTimeout);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && !self->connected_) {
        boost::system::error_code ignored;
        self->resolver_.cancel();
        self->peer_.close(ignored);
      }
    });
    resolver_.async_resolve(host, port,
                            [self = shared_from_this()](boost::system::error_code ec,
                                                        tcp::resolver::results_type found) {
                              if (ec) return self->PeerFailed("cannot resolve: " + ec.message());
                              asio::async_connect(
                                  self->peer_, found,
                                  [self](boost::system::error_code ec, const tcp::endpoint&) {
                                    if (ec)
                                      return self->PeerFailed("cannot connect: " + ec.message());
                                    self->connected_ = true;
                                    self->timer_.cancel();
                                    self->SendHead();
                                  });
                            });
  }

  // What the signature covers: the target, and for an internal call (a client's connection passed
  // to a socket another node keeps) its description too, which such a call has none of.
  std::string SignedJobTarget() const {
    if (job_.target.compare(0, sizeof kInternalPrefix - 1, kInternalPrefix) == 0) {
      return SignedTarget(job_.target, "");
    }
    return job_.target;
  }

  void SendHead() {
    boost::system::error_code ignored;
    peer_.set_option(tcp::no_delay(true), ignored);
    cluster::ForwardFacts facts;
    facts.hops = hops_;
    facts.unix_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    facts.node = cluster_.node();
    facts.client = job_.client_address;
    const std::string forwarded = cluster::FormatForwarded(facts);
    head_out_ =
        job_.method + " " + job_.target + (job_.version == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    head_out_ += job_.fields;
    head_out_ += job_.upgrade ? "Connection: Upgrade\r\n" : "Connection: close\r\n";
    head_out_ += std::string(cluster::kForwardedHeader) + ": " + forwarded + "\r\n";
    head_out_ +=
        std::string(cluster::kForwardSignatureHeader) + ": " +
        cluster::SignForward(cluster_.forward_secret(), job_.method, SignedJobTarget(), forwarded) +
        "\r\n\r\n";
    asio::async_write(peer_, asio::buffer(head_out_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        if (ec) return self->PeerFailed("cannot send: " + ec.message());
                        if (self->job_.has_body) self->StartUpstream();
                        self->ReadResponseHead();
                      });
  }

  // --- The response head, read whole (bounded) before anything reaches the client.
  void ReadResponseHead() {
    size_t have = response_.size();
    if (have >= kMaxResponseHead) return PeerFailed("response head too large");
    response_.resize(kMaxResponseHead);
    peer_.async_read_some(
        asio::buffer(&response_[have], kMaxResponseHead - have),
        [self = shared_from_this(), have](boost::system::error_code ec, size_t n) {
          self->response_.resize(have + n);
          if (ec) return self->PeerFailed("no answer: " + ec.message());
          self->OnResponseBytes();
        });
  }

  void OnResponseBytes() {
    size_t end = response_.find("\r\n\r\n");
    if (end == std::string::npos) return ReadResponseHead();
    const std::string head = response_.substr(0, end + 4);
    const int status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
    if (status == cluster::kNotOwnerStatus && !relayed_) {
      cluster_.directory().Forget(job_.object);
      const std::string owner = HeaderValue(head, cluster::kOwnerHeader);
      std::optional<std::string> addr;
      if (!owner.empty() && owner != node_) addr = cluster_.directory().AddressOf(owner);
      if (owner == cluster_.node()) addr.reset();  // the caller's own node decided otherwise
      if (!job_.has_body && hops_ < cluster::kMaxForwardHops && addr) {
        boost::system::error_code ignored;
        peer_.close(ignored);
        peer_ = tcp::socket(client_.get_executor());
        response_.clear();
        connected_ = false;
        return Attempt(owner, *addr, hops_ + 1);
      }
      return Fail(kMovedMessage);
    }
    relayed_ = true;
    if (status >= 100 && status < 200 && status != 101) {
      // An interim answer: relayed, and the final one follows.
      auto interim = std::make_shared<std::string>(head);
      response_.erase(0, end + 4);
      asio::async_write(client_, asio::buffer(*interim),
                        [self = shared_from_this(), interim](boost::system::error_code ec, size_t) {
                          if (ec) return self->CloseAll();
                          self->OnResponseBytes();
                        });
      return;
    }
    // The rest flows as it comes.
    auto first = std::make_shared<std::string>(std::move(response_));
    response_.clear();
    asio::async_write(client_, asio::buffer(*first),
                      [self = shared_from_this(), first](boost::system::error_code ec, size_t) {
                        if (ec) return self->CloseAll();
                        self->Pump(self->peer_, self->client_, self->down_, /*upstream=*/false);
                        if (!self->job_.has_body) self->StartUpstream();
                      });
  }

  // --- Bytes both ways.
  void StartUpstream() {
    if (upstream_started_) return;
    upstream_started_ = true;
    if (client_bytes_.empty()) {
      Pump(client_, peer_, up_, /*upstream=*/true);
      return;
    }
    asio::async_write(peer_, asio::buffer(client_bytes_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        self->client_bytes_.clear();
                        self->client_bytes_.shrink_to_fit();
                        if (ec) return self->UpstreamEnded();
                        self->Pump(self->client_, self->peer_, self->up_, /*upstream=*/true);
                      });
  }

  void Pump(tcp::socket& from, tcp::socket& to, std::string& buffer, bool upstream) {
    if (closed_) return;
    buffer.resize(kPumpBytes);
    from.async_read_some(asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer,
                                                upstream](boost::system::error_code ec, size_t n) {
      if (self->closed_) return;
      if (ec) {
        if (upstream && ec == asio::error::eof) return self->UpstreamEnded();
        return self->CloseAll();  // the response ended (or a side broke): all done
      }
      asio::async_write(
          to, asio::buffer(buffer.data(), n),
          [self, &from, &to, &buffer, upstream](boost::system::error_code ec, size_t) {
            if (ec) {
              if (upstream) return self->UpstreamEnded();
              return self->CloseAll();
            }
            self->Pump(from, to, buffer, upstream);
          });
    });
  }

  // The client stopped sending (or the owner stopped reading): the owner is told the request is
  // over; the response still flows.
  void UpstreamEnded() {
    boost::system::error_code ignored;
    peer_.shutdown(tcp::socket::shutdown_send, ignored);
  }

  // --- Failures.
  void PeerFailed(const std::string& why) {
    if (closed_) return;
    Log(LogLevel::kWarn, "cannot forward to cluster node " + node_ + ": " + why);
    cluster_.directory().Forget(job_.object);
    if (relayed_) return CloseAll();
    Fail(kUnavailableMessage);
  }

  // Answers the client with 503 and ends the connection.
  void Fail(const char* message) {
    if (closed_) return;
    relayed_ = true;
    boost::system::error_code ignored;
    peer_.close(ignored);
    const std::string body = std::string("{\"error\":\"") + message + "\"}";
    auto answer = std::make_shared<std::string>(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        "retry-after: 1\r\nconnection: close\r\ncontent-length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
    asio::async_write(client_, asio::buffer(*answer),
                      [self = shared_from_this(), answer](boost::system::error_code, size_t) {
                        self->CloseAll();
                      });
  }

  void CloseAll() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    client_.shutdown(tcp::socket::shutdown_send, ignored);
    client_.close(ignored);
    peer_.close(ignored);
  }

  tcp::socket client_;
  tcp::socket peer_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::string client_bytes_;
  ForwardJob job_;
  cluster::ClusterNode& cluster_;
  std::shared_ptr<HttpServer::ConnectionAccounts> accounts_;
  std::string head_out_;
  std::string response_;
  std::string up_;
  std::string down_;
  std::string node_;
  int hops_ = 1;
  bool connected_ = false;
  bool relayed_ = false;  // something was (or is being) written to the client
  bool upstream_started_ = false;
  bool closed_ = false;
};

}  // namespace

void StartForwardTunnel(tcp::socket client, std::string client_bytes, ForwardJob job,
                        cluster::ClusterNode& cluster,
                        std::shared_ptr<HttpServer::ConnectionAccounts> accounts) {
  std::make_shared<Tunnel>(std::move(client), std::move(client_bytes), std::move(job), cluster,
                           std::move(accounts))
      ->Start();
}

}  // namespace dorm::net
