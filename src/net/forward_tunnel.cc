#include "net/forward_tunnel.h"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>

#include "cluster/forward_auth.h"
#include "net/peer_address.h"
#include "net/peer_call_codec.h"
#include "net/peer_connections.h"
#include "util/log.h"

namespace dorm::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kPumpBytes = 64u << 10;
constexpr size_t kMaxResponseHead = 64u << 10;
constexpr auto kConnectTimeout = std::chrono::seconds(2);

constexpr char kUnavailableMessage[] =
    "Durable Object is not available on this node right now; retry the request.";
constexpr char kMovedMessage[] =
    "Durable Object moved to another node of the cluster; retry the request.";
// The owner had the whole request head and then failed or fell silent: it may have run it.
constexpr char kUnknownOutcomeMessage[] =
    "Durable Object's node stopped answering before its response; the request may have run "
    "there. Retry it only if running it twice is safe.";

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
  Tunnel(asio::io_context& io, tcp::socket client, std::string client_bytes, ForwardJob job,
         cluster::ClusterNode& cluster, std::shared_ptr<HttpServer::ConnectionAccounts> accounts,
         ResumeConnection resume)
      : io_(io),
        client_(std::move(client)),
        peer_(client_.get_executor()),
        resolver_(client_.get_executor()),
        timer_(client_.get_executor()),
        client_bytes_(std::move(client_bytes)),
        job_(std::move(job)),
        cluster_(cluster),
        accounts_(std::move(accounts)),
        resume_(std::move(resume)) {
    ++accounts_->http_connections;
    // Where the request ends can be told (so that both connections may go on after it): on
    // HTTP/1.1, by its Content-Length, or by following its chunks (as the response's are).
    framed_ = !job_.upgrade && job_.version == 11;
    remaining_ = job_.body_length.value_or(0);
    body_done_ = !job_.has_body;
    if (framed_ && job_.has_body && !job_.body_length) {
      // A chunked body: a parser given the head's framing alone (the client's head was parsed
      // already) finds where the body ends in the bytes that follow.
      static constexpr char kChunkedHead[] =
          "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n";
      req_parser_.emplace();
      req_parser_->body_limit(boost::none);  // the owner applies its own
      boost::system::error_code ec;
      req_parser_->put(asio::buffer(kChunkedHead, sizeof kChunkedHead - 1), ec);
      if ((ec && ec != http::error::need_more) || !req_parser_->is_header_done()) {
        req_parser_.reset();  // cannot happen: the connections then end with the response
        framed_ = false;
      }
      if (req_parser_) req_parser_->eager(true);
    }
    // The body waits for the owner's "100 Continue" (HTTP/1.1 only: an HTTP/1.0 server never
    // sends one), so that an owner that answers "not owner" or falls silent has read none of it.
    ask_continue_ = job_.has_body && job_.version == 11;
  }
  ~Tunnel() { --accounts_->http_connections; }

  void Start() {
    if (!job_.expect_continue || ask_continue_) {
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
  // Sends the request to `node` at `addr`, as its `hops`th hop. Every handler of an attempt
  // carries its number and does nothing once another attempt began.
  void Attempt(const std::string& node, const std::string& addr, int hops) {
    const uint64_t attempt = ++attempt_;
    hops_ = hops;
    node_ = node;
    boost::system::error_code ignored;
    peer_.close(ignored);
    peer_ = tcp::socket(client_.get_executor());
    response_.clear();
    connected_ = false;
    head_sent_ = false;
    peer_addr_ = addr;
    reused_ = false;
    if (framed_ && !fresh_only_) {
      if (std::optional<tcp::socket> idle = Pool().Take(addr)) {
        peer_ = std::move(*idle);
        reused_ = true;
        connected_ = true;
        ArmWait(cluster::kForwardAnswerWait);
        SendHead();
        return;
      }
    }
    fresh_only_ = false;
    std::string host, port;
    if (!SplitPeerAddress(addr, host, port)) {
      Log(LogLevel::kWarn,
          "cluster node " + node + " advertises an address Dorm cannot reach: " + addr);
      return Fail(kUnavailableMessage);
    }
    ArmWait(kConnectTimeout);
    resolver_.async_resolve(
        host, port,
        [self = shared_from_this(), attempt](boost::system::error_code ec,
                                             tcp::resolver::results_type found) {
          if (attempt != self->attempt_) return;
          if (ec) return self->PeerFailed("cannot resolve: " + ec.message());
          asio::async_connect(self->peer_, found,
                              [self, attempt](boost::system::error_code ec, const tcp::endpoint&) {
                                if (attempt != self->attempt_) return;
                                if (ec) return self->PeerFailed("cannot connect: " + ec.message());
                                self->connected_ = true;
                                self->ArmWait(cluster::kForwardAnswerWait);
                                self->SendHead();
                              });
        });
  }

  // Looks `owner` up (ClusterDirectory::Resolve), then sends the request there as the next hop,
  // or answers "moved" if it holds no live lease. Nothing of the request went to the node that
  // named it (the replay rule's case (a)); that node's connection is closed meanwhile, and the
  // handlers of its attempt do nothing.
  void ResolveOwner(const std::string& owner) {
    ++attempt_;
    timer_.cancel();
    boost::system::error_code ignored;
    peer_.close(ignored);
    cluster_.directory().Resolve(
        owner, [self = shared_from_this(), owner, attempt = attempt_,
                executor = client_.get_executor()](std::optional<std::string> addr) {
          asio::post(executor, [self, owner, attempt, addr = std::move(addr)] {
            if (attempt != self->attempt_ || self->closed_) return;
            if (!addr) return self->Fail(kMovedMessage);
            self->Attempt(owner, *addr, self->hops_ + 1);
          });
        });
  }

  // Until the owner's final answer head: connecting, then each silence between its answers, is
  // bounded (the owner sends "102 Processing" while it works on the request). A connect that
  // times out fails the attempt (PeerFailed); a silence past the wait once connected ends it
  // (OnSilent).
  void ArmWait(std::chrono::steady_clock::duration after) {
    timer_.expires_after(after);
    timer_.async_wait(
        [self = shared_from_this(), attempt = attempt_](boost::system::error_code ec) {
          if (ec || attempt != self->attempt_ || self->relayed_ || self->closed_) return;
          if (!self->connected_) {
            boost::system::error_code ignored;
            self->resolver_.cancel();
            self->peer_.close(ignored);  // the connect handler fails
            return;
          }
          self->OnSilent();
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
    // A request whose end can be told keeps the connection to the owner (HTTP/1.1's default),
    // unless the client closes its own after it: the object sees the Connection header the
    // client sent, as when the client asks the owner itself.
    if (job_.upgrade) {
      head_out_ += "Connection: Upgrade\r\n";
    } else if (!framed_ || !job_.keep_alive) {
      head_out_ += "Connection: close\r\n";
    }
    if (ask_continue_) head_out_ += "Expect: 100-continue\r\n";
    head_out_ += std::string(cluster::kForwardedHeader) + ": " + forwarded + "\r\n";
    head_out_ +=
        std::string(cluster::kForwardSignatureHeader) + ": " +
        cluster::SignForward(cluster_.forward_secret(), job_.method, SignedJobTarget(), forwarded) +
        "\r\n\r\n";
    asio::async_write(
        peer_, asio::buffer(head_out_),
        [self = shared_from_this(), attempt = attempt_](boost::system::error_code ec, size_t) {
          if (attempt != self->attempt_) return;
          if (ec) return self->PeerFailed("cannot send: " + ec.message());
          self->head_sent_ = true;
          if (self->job_.has_body && !self->ask_continue_) self->StartUpstream();
          self->ReadResponseHead();
        });
  }

  // --- The response head, read whole (bounded) before anything reaches the client.
  void ReadResponseHead() {
    size_t have = response_.size();
    if (have >= kMaxResponseHead) return PeerFailed("response head too large");
    response_.resize(kMaxResponseHead);
    peer_.async_read_some(asio::buffer(&response_[have], kMaxResponseHead - have),
                          [self = shared_from_this(), have, attempt = attempt_](
                              boost::system::error_code ec, size_t n) {
                            if (attempt != self->attempt_) return;
                            self->response_.resize(have + n);
                            if (ec) return self->PeerFailed("no answer: " + ec.message());
                            self->OnResponseBytes();
                          });
  }

  void OnResponseBytes() {
    if (closed_) return;
    size_t end = response_.find("\r\n\r\n");
    if (end == std::string::npos) return ReadResponseHead();
    const std::string head = response_.substr(0, end + 4);
    const int status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
    if (!relayed_ && (status == 102 || status == 100)) {
      // The owner's own interim answers: it works on the request (102), or takes its body (100).
      response_.erase(0, end + 4);
      ArmWait(cluster::kForwardAnswerWait);
      if (status == 102 || !ask_continue_ || upstream_started_) return OnResponseBytes();
      StartUpstream();
      if (!job_.expect_continue) return OnResponseBytes();
      // The client asked for it too.
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(client_, asio::buffer(kContinue, sizeof kContinue - 1),
                        [self = shared_from_this()](boost::system::error_code ec, size_t) {
                          if (ec) return self->CloseAll();
                          self->OnResponseBytes();
                        });
      return;
    }
    if (status == cluster::kNotOwnerStatus && !relayed_) {
      cluster_.directory().Forget(job_.object);
      const std::string owner = HeaderValue(head, cluster::kOwnerHeader);
      std::optional<std::string> addr;
      if (!owner.empty() && owner != node_) addr = cluster_.directory().AddressOf(owner);
      // The owner says it did not run the request (its object never saw it): the one case,
      // with a connection that failed before the head was all written (PeerFailed), where the
      // request is sent again. Only if none of its body went: a body already passed on is gone
      // (the owner answers before its "100 Continue", so that is only HTTP/1.0's, or an
      // ownership change between the owner's check and its activation).
      if (!upstream_started_ && hops_ < cluster::kMaxForwardHops) {
        if (addr) return Attempt(owner, *addr, hops_ + 1);
        // An owner this node has not seen live yet (it registered since the directory's last
        // refresh, and took the object while this node placed it on another): its address as
        // PostgreSQL says now.
        if (!owner.empty() && owner != node_ && owner != cluster_.node())
          return ResolveOwner(owner);
      }
      return Fail(kMovedMessage);
    }
    if (!relayed_) timer_.cancel();  // the final answer came: it flows from now on
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
    if (framed_ && status != 101) return RelayFramed();
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

  // --- A response whose framing is followed (framed_ requests): it passes as it comes, and its
  // end is known, so that both connections may go on after it.
  void RelayFramed() {
    res_parser_.emplace();
    res_parser_->header_limit(static_cast<std::uint32_t>(kMaxResponseHead));
    res_parser_->body_limit(boost::none);
    res_parser_->eager(true);
    if (job_.head) res_parser_->skip(true);
    auto first = std::make_shared<std::string>(std::move(response_));
    response_.clear();
    first->resize(FeedResponse(first->data(), first->size()));
    if (!job_.has_body) StartUpstream();  // nothing to send: what follows is the next request
    WriteDown(first);
  }

  // Writes response bytes to the client, then reads more unless the response is whole.
  void WriteDown(std::shared_ptr<std::string> bytes) {
    asio::async_write(client_, asio::buffer(*bytes),
                      [self = shared_from_this(), bytes](boost::system::error_code ec, size_t) {
                        if (self->closed_) return;
                        if (ec) return self->CloseAll();
                        if (self->response_parsed_) {
                          self->response_done_ = true;
                          return self->Finish();
                        }
                        self->ReadDown();
                      });
  }

  void ReadDown() {
    down_.resize(kPumpBytes);
    peer_.async_read_some(
        asio::buffer(down_), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          if (self->closed_) return;
          if (ec) {
            // A response delimited by the end of the connection ends here.
            if (ec == asio::error::eof && !self->framing_lost_ && self->res_parser_->need_eof()) {
              boost::system::error_code ignored;
              self->res_parser_->put_eof(ignored);
              self->peer_clean_ = false;
              self->response_done_ = true;
              return self->Finish();
            }
            return self->CloseAll();
          }
          auto bytes = std::make_shared<std::string>(self->down_.data(), n);
          if (!self->framing_lost_) bytes->resize(self->FeedResponse(bytes->data(), n));
          self->WriteDown(bytes);
        });
  }

  // What FeedFraming found in `n` bytes: whether the message ended in them (`mine` of them are
  // its), or whether they are not HTTP as Beast reads it (`lost`).
  struct FramedBytes {
    bool lost = false;
    bool done = false;
    size_t mine = 0;
  };
  // Passes `n` bytes through `parser` (a request's or a response's, over buffer_body), to find
  // where its message ends. Bytes the parser leaves (an incomplete chunk header) stay in
  // `pending` and are given again with the next ones; `pending` is emptied once the message
  // ended or its framing is lost.
  template <class Parser>
  FramedBytes FeedFraming(Parser& parser, std::string& pending, const char* data, size_t n) {
    const size_t before = pending.size();
    pending.append(data, n);
    size_t used = 0;
    while (used < pending.size() && !parser.is_done()) {
      parser.get().body().data = scratch_.data();
      parser.get().body().size = scratch_.size();
      boost::system::error_code ec;
      const size_t step =
          parser.put(asio::buffer(pending.data() + used, pending.size() - used), ec);
      used += step;
      if (ec == http::error::need_buffer) continue;
      if (ec == http::error::need_more) break;
      if (ec || step == 0) {
        pending.clear();
        return {.lost = true};
      }
    }
    if (!parser.is_done()) {
      pending.erase(0, used);
      return {};
    }
    pending.clear();
    const size_t mine = used > before ? used - before : 0;
    return {.done = true, .mine = std::min(mine, n)};
  }

  // Passes `n` bytes of the response through the parser; returns how many of them belong to the
  // response (all, until its end). Bytes the parser leaves (an incomplete chunk header) are kept
  // and given again with the next ones: they are the response's too, and went to the client.
  size_t FeedResponse(const char* data, size_t n) {
    const FramedBytes fed = FeedFraming(*res_parser_, res_pending_, data, n);
    if (fed.lost) {
      // Not HTTP as Beast reads it: the bytes flow on unparsed, and the connections end with
      // the response.
      framing_lost_ = true;
      peer_clean_ = false;
      return n;
    }
    if (!fed.done) return n;
    response_parsed_ = true;
    if (fed.mine < n) peer_clean_ = false;  // bytes past the response: the connection is not reused
    return fed.mine;
  }

  // Both the request and the response have ended: the connection to the owner goes back to the
  // pool and the client's goes on, if both sides keep them.
  void Finish() {
    if (closed_ || !response_done_) return;
    if (!request_done_) {
      // The owner answered before the whole body went (it closes its side): so does this.
      if (!upstream_started_ || !body_done_) return CloseAll();
      return;  // the body's last bytes are being written: SendBody() finishes
    }
    const bool owner_keeps = !framing_lost_ && res_parser_ && res_parser_->keep_alive();
    timer_.cancel();
    boost::system::error_code ignored;
    if (owner_keeps && peer_clean_) {
      Pool().Give(peer_addr_, std::move(peer_));
    } else {
      peer_.close(ignored);
    }
    if (owner_keeps && job_.keep_alive && resume_) {
      closed_ = true;
      resume_(std::move(client_), std::move(leftover_));
      return;
    }
    CloseAll();
  }

  PeerConnections& Pool() { return PeerConnections::ForThisThread(io_, job_.idle_timeout); }

  // The owner sent nothing for kForwardAnswerWait while it had the request's head (or was being
  // sent it): it may be paused (its lease then runs out and another node takes the object) or cut
  // off. It may also have run the request before it fell silent, its commit made durable before
  // any takeover, so the request is never sent elsewhere: the client is told that the outcome is
  // unknown.
  void OnSilent() {
    Log(LogLevel::kWarn, "cluster node " + node_ + " did not answer a forwarded request within " +
                             std::to_string(cluster::kForwardAnswerWait.count()) + " ms");
    cluster_.directory().Forget(job_.object);
    Fail(kUnknownOutcomeMessage);
  }

  // --- Bytes both ways.
  void StartUpstream() {
    if (upstream_started_) return;
    upstream_started_ = true;
    if (framed_) {
      // The body's bytes go; the rest of what was read is the client's next request.
      const size_t body = TakeBody(client_bytes_.data(), client_bytes_.size());
      leftover_ = client_bytes_.substr(body);
      client_bytes_.resize(body);
      if (client_bytes_.empty()) return SendBody();
      asio::async_write(peer_, asio::buffer(client_bytes_),
                        [self = shared_from_this()](boost::system::error_code ec, size_t) {
                          if (self->closed_) return;
                          self->client_bytes_.clear();
                          self->client_bytes_.shrink_to_fit();
                          if (ec) return;  // the owner stopped reading: its answer says why
                          self->SendBody();
                        });
      return;
    }
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

  // The rest of a framed body, up to its end: a body of known length is read no further than
  // its end; a chunked body's last read may hold the start of the client's next request, kept
  // for it (leftover_).
  void SendBody() {
    if (body_done_) {
      request_done_ = true;
      return Finish();
    }
    up_.resize(req_parser_ ? kPumpBytes
                           : static_cast<size_t>(std::min<uint64_t>(kPumpBytes, remaining_)));
    client_.async_read_some(asio::buffer(up_),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              if (self->closed_) return;
                              if (ec) return self->CloseAll();  // the client left mid-body
                              const size_t body = self->TakeBody(self->up_.data(), n);
                              self->leftover_.append(self->up_.data() + body, n - body);
                              asio::async_write(self->peer_, asio::buffer(self->up_.data(), body),
                                                [self](boost::system::error_code ec, size_t) {
                                                  if (self->closed_ || ec)
                                                    return;  // the owner's answer says why
                                                  self->SendBody();
                                                });
                            });
  }

  // Of `n` bytes the client sent after the request head, how many belong to the body (the
  // rest is its next request); notes the body's end (body_done_).
  size_t TakeBody(const char* data, size_t n) {
    if (!req_parser_) {
      const size_t body = static_cast<size_t>(std::min<uint64_t>(remaining_, n));
      remaining_ -= body;
      if (remaining_ == 0) body_done_ = true;
      return body;
    }
    if (request_framing_lost_) return n;
    // As for the response: bytes the parser leaves (an incomplete chunk header) are the body's
    // too, since its end comes after them.
    const FramedBytes fed = FeedFraming(*req_parser_, req_pending_, data, n);
    if (fed.lost) {
      // Not a chunked body as Beast reads it (the owner's parser refuses it too): the bytes
      // flow on, and the connections end with the response (the body never ends).
      request_framing_lost_ = true;
      return n;
    }
    if (!fed.done) return n;
    body_done_ = true;
    return fed.mine;
  }

  // The client stopped sending (or the owner stopped reading): the owner is told the request is
  // over; the response still flows.
  void UpstreamEnded() {
    boost::system::error_code ignored;
    peer_.shutdown(tcp::socket::shutdown_send, ignored);
  }

  // --- Failures.
  // The connection to the owner failed (or could not be made). The owner dispatches nothing
  // before it has read a request's whole head, so a request whose head was not all written never
  // reached the object: on a kept connection (the owner closed it as it was taken) it goes again
  // on a new one, and otherwise the client is told to retry. Once the head was all written (into
  // the socket: the owner may have read it), an end of stream or a reset before the response
  // leaves the outcome unknown, and the request is never sent again.
  void PeerFailed(const std::string& why) {
    if (closed_) return;
    if (reused_ && !head_sent_ && !relayed_) {
      fresh_only_ = true;
      return Attempt(node_, peer_addr_, hops_);
    }
    Log(LogLevel::kWarn, "cannot forward to cluster node " + node_ + ": " + why);
    cluster_.directory().Forget(job_.object);
    if (relayed_) return CloseAll();
    Fail(head_sent_ ? kUnknownOutcomeMessage : kUnavailableMessage);
  }

  // Answers the client with 503 and ends the connection.
  void Fail(const char* message) {
    if (closed_) return;
    relayed_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
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

  asio::io_context& io_;
  tcp::socket client_;
  tcp::socket peer_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::string client_bytes_;
  ForwardJob job_;
  cluster::ClusterNode& cluster_;
  std::shared_ptr<HttpServer::ConnectionAccounts> accounts_;
  ResumeConnection resume_;
  std::string head_out_;
  std::string response_;
  std::string up_;
  std::string down_;
  std::string node_;
  uint64_t attempt_ = 0;  // the current attempt (see Attempt)
  int hops_ = 1;
  bool ask_continue_ = false;  // the body waits for the owner's "100 Continue"
  bool connected_ = false;
  // The current attempt's request head was all written to the owner's connection: from then on
  // the owner may run the request, and it is never sent again unless the owner says it did not
  // run it (421).
  bool head_sent_ = false;
  bool relayed_ = false;           // something was (or is being) written to the client
  bool upstream_started_ = false;  // bytes of the body may have reached the owner
  bool closed_ = false;
  // Kept connections (framed_ requests only).
  bool framed_ = false;     // the request's end can be told
  uint64_t remaining_ = 0;  // bytes of its body not yet read from the client (Content-Length)
  bool body_done_ = false;  // all of the body was read from the client
  // A chunked body's framing, followed as it passes (framed_ requests with a chunked body).
  std::optional<http::request_parser<http::buffer_body>> req_parser_;
  std::string req_pending_;            // body bytes the parser has yet to take
  bool request_framing_lost_ = false;  // the body could not be parsed: it never ends
  std::string leftover_;               // bytes of the client's next request, read with this one
  std::string peer_addr_;              // the address the current attempt went to
  bool reused_ = false;                // its connection was a kept one
  bool fresh_only_ = false;            // the next attempt opens a new connection
  bool request_done_ = false;
  std::optional<http::response_parser<http::buffer_body>> res_parser_;
  std::string res_pending_;  // response bytes the parser has yet to take
  std::array<char, 16384> scratch_{};
  bool response_parsed_ = false;  // the parser saw the response's end
  bool response_done_ = false;    // ...and all of it went to the client
  bool framing_lost_ = false;     // the response could not be parsed: bytes flow as they come
  bool peer_clean_ = true;        // nothing past the response came from the owner
};

}  // namespace

void StartForwardTunnel(asio::io_context& io, tcp::socket client, std::string client_bytes,
                        ForwardJob job, cluster::ClusterNode& cluster,
                        std::shared_ptr<HttpServer::ConnectionAccounts> accounts,
                        ResumeConnection resume) {
  std::make_shared<Tunnel>(io, std::move(client), std::move(client_bytes), std::move(job), cluster,
                           std::move(accounts), std::move(resume))
      ->Start();
}

}  // namespace dorm::net
