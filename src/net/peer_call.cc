#include "net/peer_call.h"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

#include "cluster/forward_auth.h"
#include "net/peer_address.h"
#include "net/peer_call_codec.h"
#include "net/peer_connections.h"
#include "net/peer_sockets.h"
#include "net/peer_streams.h"
#include "runtime/class_catalog.h"
#include "runtime/reset_reason.h"
#include "runtime/response_stream.h"
#include "runtime/rpc_limits.h"
#include "util/log.h"

namespace dorm::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kPeerConnectTimeout = std::chrono::seconds(2);
// The owner's answer head carries the callee's response headers (kAnswerHeader).
constexpr size_t kMaxPeerAnswerHead = 1u << 20;
constexpr size_t kPeerReadStep = 64u << 10;
// The call's description must fit in the owner's request head (HttpServerOptions::
// max_header_bytes, 64 KiB by default), with room for the other fields.
constexpr size_t kMaxCallHeader = 48u << 10;
constexpr char kPeerHeadersTooLargeMessage[] =
    "The request's URL and headers are too large to be sent to a Durable Object on another node "
    "of the cluster.";

constexpr char kPeerMovedMessage[] =
    "Durable Object moved to another node of the cluster; retry the request.";
constexpr char kPeerTimeoutMessage[] =
    "Durable Object's node did not answer in time; retry the request.";
constexpr char kPeerBusyMessage[] =
    "Too many calls to Durable Objects on other nodes are under way; retry the request.";
constexpr char kPeerBadAnswerMessage[] =
    "Durable Object's node answered the call with something Dorm cannot read.";
// As on one node for a socket returned too late (runtime/js_response.cc).
constexpr char kPeerSocketGoneMessage[] =
    "This WebSocket came through a stub's fetch() too long ago (30 s) or was already returned in "
    "a Response.";
constexpr char kPeerTooManyStreamsMessage[] =
    "Too many streams to send to a Durable Object on another node of the cluster.";

std::atomic<int> outstanding_peer_calls{0};

// Per loop thread: the callees that a call from this loop is on its way to and not yet queued
// for on the callee's node, each with the calls to it made since, in order (started one by one
// as the one before is queued there: PeerCall::ReleaseOrder).
thread_local std::unordered_map<std::string, std::deque<std::function<void()>>> unqueued_callees;

class PeerCall : public std::enable_shared_from_this<PeerCall> {
 public:
  PeerCall(asio::io_context& io, cluster::ClusterNode& cluster, runtime::OutgoingCall call,
           const PeerCallOptions& options, runtime::ResponseCallback done)
      : io_(io),
        cluster_(cluster),
        options_(options),
        call_(std::move(call)),
        done_(std::move(done)),
        resolver_(io),
        socket_(io),
        timer_(io),
        object_(runtime::ObjectKey(call_.address)) {
    ++outstanding_peer_calls;
  }
  ~PeerCall() {
    --outstanding_peer_calls;
    if (call_.request.body_stream) call_.request.body_stream->Cancel();
    if (answer_stream_) {
      answer_stream_->Finish(false, runtime::ResponseStream::ConnectionLost());
    }
  }

  void Attempt(const std::string& node, const std::string& addr, int hops) {
    hops_ = hops;
    node_ = node;
    std::string host, port;
    if (!SplitPeerAddress(addr, host, port)) {
      Log(LogLevel::kWarn,
          "cluster node " + node + " advertises an address Dorm cannot reach: " + addr);
      return Unreachable();
    }
    host_ = addr.substr(7);
    host_ = host_.substr(0, host_.find('/'));
    addr_ = addr;
    started_ = std::chrono::steady_clock::now();
    if (std::optional<tcp::socket> idle =
            PeerConnections::ForThisThread(io_, options_.idle_timeout).Take(addr_)) {
      socket_ = std::move(*idle);
      connected_ = true;
      ArmTimer(options_.head_timeout);
      SendHead();
      return;
    }
    ArmTimer(kPeerConnectTimeout);
    resolver_.async_resolve(
        host, port,
        [self = shared_from_this()](boost::system::error_code ec, tcp::resolver::results_type r) {
          if (self->finished_) return;
          if (ec) return self->Unreachable();
          asio::async_connect(self->socket_, r,
                              [self](boost::system::error_code ec, const tcp::endpoint&) {
                                if (self->finished_) return;
                                if (ec) return self->Unreachable();
                                self->connected_ = true;
                                self->ArmTimer(self->options_.head_timeout);
                                boost::system::error_code ignored;
                                self->socket_.set_option(tcp::no_delay(true), ignored);
                                self->SendHead();
                              });
        });
  }

 private:
  void ArmTimer(std::chrono::steady_clock::duration after) {
    timer_.expires_at(started_ + after);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->finished_ || self->head_done_) return;
      if (!self->connected_) return self->Unreachable();
      self->Answer(runtime::HttpResponseData::RetryableError(504, kPeerTimeoutMessage));
      self->CloseSocket();
    });
  }

  void SendHead() {
    const bool fetch = call_.fetch;
    const bool stream = !stream_token_.empty();
    PeerCallMeta meta;
    meta.address = call_.address;
    if (stream) {
      meta.stream = stream_token_;
    } else if (fetch) {
      meta.http_method = call_.request.method;
      meta.url = call_.request.url;
      meta.headers = call_.request.headers;
    } else {
      meta.method = call_.method;
      if (call_.streams) {
        // The connection to the callee's node is up: the arguments' streams start now.
        std::optional<std::vector<PeerStreamRef>> refs =
            SendPeerStreams(io_, cluster_, node_, addr_, options_, call_.streams->Release());
        call_.streams.reset();
        if (!refs) {
          CloseSocket();
          return Answer(runtime::HttpResponseData::JsonError(500, kPeerTooManyStreamsMessage));
        }
        meta.streams = std::move(*refs);
      }
    }
    const std::string call_header = EncodeCallMeta(meta);
    if (call_header.size() > kMaxCallHeader) {
      CloseSocket();
      return Answer(runtime::HttpResponseData::JsonError(500, kPeerHeadersTooLargeMessage));
    }
    const std::string target = stream  ? kInternalStreamTarget
                               : fetch ? kInternalFetchTarget
                                       : kInternalRpcTarget;
    cluster::ForwardFacts facts;
    facts.hops = hops_;
    facts.unix_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    facts.node = cluster_.node();
    const std::string forwarded = cluster::FormatForwarded(facts);
    const std::string signature = cluster::SignForward(
        cluster_.forward_secret(), "POST", SignedTarget(target, call_header), forwarded);
    streaming_body_ = fetch && call_.request.body_stream != nullptr;
    const std::string& body = fetch ? call_.request.body : call_.args;
    auto out = std::make_shared<std::string>();
    *out = "POST " + target + " HTTP/1.1\r\nhost: " + host_ + "\r\n" + cluster::kForwardedHeader +
           ": " + forwarded + "\r\n" + cluster::kForwardSignatureHeader + ": " + signature +
           "\r\n" + kCallHeader + ": " + call_header + "\r\n";
    if (streaming_body_) {
      *out += "transfer-encoding: chunked\r\n\r\n";
    } else {
      *out += "content-length: " + std::to_string(body.size()) + "\r\n\r\n";
      *out += body;
      // Sent: the call's copy is no longer needed.
      call_.args.clear();
      call_.request.body.clear();
    }
    writing_ = true;
    asio::async_write(socket_, asio::buffer(*out),
                      [self = shared_from_this(), out](boost::system::error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec) return self->OnWriteFailed();
                        if (self->streaming_body_) {
                          std::weak_ptr<PeerCall> weak = self;
                          asio::io_context* io = &self->io_;
                          self->call_.request.body_stream->SetConsumerWake([weak, io] {
                            asio::post(*io, [weak] {
                              if (auto call = weak.lock()) call->PumpBody();
                            });
                          });
                          self->PumpBody();
                        }
                      });
    ReadHead();
  }

  // Writes what the caller's body stream has queued as chunks, and its end.
  void PumpBody() {
    if (writing_ || body_sent_ || !socket_.is_open()) return;
    runtime::ResponseStream::Taken taken = call_.request.body_stream->Take();
    auto out = std::make_shared<std::string>();
    const size_t n = taken.bytes.size();
    if (n > 0) {
      char size[24];
      int len = std::snprintf(size, sizeof size, "%zx\r\n", n);
      out->append(size, static_cast<size_t>(len));
      out->append(taken.bytes);
      out->append("\r\n");
    }
    if (taken.ended) {
      if (taken.failed && stream_token_.empty()) {
        // The caller's body failed: the owner must not see a complete request.
        body_sent_ = true;
        return OnBroken();
      }
      // A stream's failure is its last chunk's (net/peer_streams.h).
      out->append(taken.failed ? "0" + EncodePeerStreamFailure(taken.failure) + "\r\n\r\n"
                               : std::string("0\r\n\r\n"));
      body_sent_ = true;
    }
    if (out->empty()) return;  // the consumer wake-up calls again
    writing_ = true;
    asio::async_write(socket_, asio::buffer(*out),
                      [self = shared_from_this(), out, n](boost::system::error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec) return self->OnWriteFailed();
                        if (n > 0) self->call_.request.body_stream->Consumed(n);
                        self->PumpBody();
                      });
  }

  void ReadHead() {
    parser_.emplace();
    parser_->header_limit(kMaxPeerAnswerHead);
    if (call_.fetch) {
      parser_->body_limit(boost::none);  // streams, bounded by the caller's reading
    } else {
      parser_->body_limit(runtime::kMaxRpcMessageBytes + 1024);
    }
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](boost::system::error_code ec, size_t) {
                              if (self->finished_) return;
                              if (ec) return self->OnBroken();
                              if (self->parser_->get().result_int() / 100 == 1) {
                                // The owner's sign of life while the callee works (the first
                                // says the call is queued for the object): the wait for the
                                // answer's head starts again.
                                self->ReleaseOrder();
                                self->started_ = std::chrono::steady_clock::now();
                                self->ArmTimer(self->options_.head_timeout);
                                return self->ReadHead();
                              }
                              self->head_done_ = true;
                              self->timer_.cancel();
                              self->OnHead();
                            });
  }

  void OnHead() {
    ReleaseOrder();
    auto& res = parser_->get();
    const int status = static_cast<int>(res.result_int());
    if (!stream_token_.empty()) {
      // The consuming node answers a stream's push once it has it whole, or once its reader
      // cancelled it (then the rest is not sent: Answer cancels it here).
      CloseSocket();
      return Answer(runtime::HttpResponseData{});
    }
    if (status == cluster::kNotOwnerStatus) {
      cluster_.directory().Forget(object_);
      const std::string owner(res[cluster::kOwnerHeader]);
      std::optional<std::string> addr;
      if (!owner.empty() && owner != cluster_.node()) addr = cluster_.directory().AddressOf(owner);
      CloseSocket();
      if (hops_ < cluster::kMaxForwardHops && !streaming_body_ && retry_) {
        if (addr) return AttemptNext(owner, *addr);
        if (!owner.empty() && owner != node_ && owner != cluster_.node()) {
          // An owner this node has not seen live yet (it registered since the directory's last
          // refresh): its address as PostgreSQL says now. Nothing else touches the call
          // meanwhile (its answer head was read: the timer does nothing).
          cluster_.directory().Resolve(
              owner, [self = shared_from_this(), owner](std::optional<std::string> found) {
                asio::post(self->io_, [self, owner, found = std::move(found)] {
                  if (self->finished_) return;
                  if (!found)
                    return self->Answer(
                        runtime::HttpResponseData::RetryableError(503, kPeerMovedMessage));
                  self->AttemptNext(owner, *found);
                });
              });
          return;
        }
      }
      return Answer(runtime::HttpResponseData::RetryableError(503, kPeerMovedMessage));
    }
    auto meta = res.find(kAnswerHeader);
    runtime::HttpResponseData answer;
    std::vector<PeerStreamRef> streams;
    if (status != 200 || meta == res.end() || !DecodeAnswerMeta(meta->value(), &answer, &streams) ||
        (!streams.empty() &&
         answer.rpc_outcome != runtime::HttpResponseData::RpcOutcome::kReturned)) {
      // The owner refused the call itself (403, 508, 431, 503 while shutting down...).
      Log(LogLevel::kWarn, "a call to " + runtime::LogTag(call_.address) + " on another node got " +
                               std::to_string(status) + " " + std::string(res.reason()));
      CloseSocket();
      return Answer(runtime::HttpResponseData::RetryableError(502, kPeerBadAnswerMessage));
    }
    if (auto socket = res.find(kSocketHeader); socket != res.end()) {
      // The callee answered with a WebSocket, which its node keeps (net/peer_sockets.h), or which
      // a third node keeps (the callee passed on a socket that came from there).
      const std::string token(socket->value());
      auto named = res.find(kSocketNodeHeader);
      const std::string holder = named == res.end() ? node_ : std::string(named->value());
      if (!call_.fetch || answer.status != 101 || !IsPeerStreamToken(token) || holder.empty()) {
        CloseSocket();
        return Answer(runtime::HttpResponseData::RetryableError(502, kPeerBadAnswerMessage));
      }
      if (holder == cluster_.node()) {
        // Back on the node that keeps it: taken once the answer is read whole (OnBodyDone), so
        // that a call failing before leaves it to expire there as an unclaimed socket.
        own_socket_ = token;
      } else {
        std::optional<std::string> addr = holder == node_ ? std::optional<std::string>(addr_)
                                                          : cluster_.directory().AddressOf(holder);
        if (!addr) {
          CloseSocket();
          return Answer(
              runtime::HttpResponseData::RetryableError(503, runtime::kClusterUnavailableMessage));
        }
        answer.remote_web_socket = std::make_shared<const runtime::RemoteWebSocket>(
            runtime::RemoteWebSocket{holder, *addr, token});
      }
    }
    if (answer.owned_elsewhere) cluster_.directory().Forget(object_);
    if (!streams.empty()) {
      answer.rpc_streams = ReceivePeerStreams(io_, cluster_, node_, addr_, options_, streams);
    }
    // RPC outcomes, and the runtime's own answers to fetch() (a thrown handler, a reset), are
    // read whole: the caller reads their message from the body at once, as from a local callee.
    if (!call_.fetch || answer.rpc_outcome != runtime::HttpResponseData::RpcOutcome::kNone ||
        answer.runtime_error || answer.remote_web_socket || !own_socket_.empty()) {
      answer_ = std::move(answer);
      ReadBody();
      return;
    }
    // The response is the caller's now; its body follows as it comes.
    answer_stream_ = std::make_shared<runtime::ResponseStream>();
    std::weak_ptr<PeerCall> weak = shared_from_this();
    asio::io_context* io = &io_;
    answer_stream_->SetProducerWake([weak, io] {
      asio::post(*io, [weak] {
        if (auto call = weak.lock()) call->ReadBody();
      });
    });
    answer.body_stream = answer_stream_;
    Answer(std::move(answer));
    ReadBody();
  }

  // Reads the answer's body: into answer_ for RPC, into the caller's stream for fetch().
  void ReadBody() {
    if (reading_ || !socket_.is_open()) return;
    if (answer_stream_ && answer_stream_->cancelled()) {
      // The caller will not read the rest.
      answer_stream_.reset();
      return CloseSocket();
    }
    if (parser_->is_done()) return OnBodyDone();
    chunk_.resize(kPeerReadStep);
    parser_->get().body().data = chunk_.data();
    parser_->get().body().size = chunk_.size();
    reading_ = true;
    http::async_read_some(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](boost::system::error_code ec, size_t) {
          self->reading_ = false;
          if (ec == http::error::need_buffer) ec = {};
          const size_t n = self->chunk_.size() - self->parser_->get().body().size;
          if (ec) {
            if (!self->answer_stream_ && self->finished_) return;
            return self->OnBroken();
          }
          bool more = true;
          if (n > 0) {
            if (self->answer_stream_) {
              more = self->answer_stream_->Reserve(n);
              self->answer_stream_->Push(self->chunk_.substr(0, n));
            } else if (self->body_.size() + n > runtime::kMaxRpcMessageBytes + 1024) {
              return self->OnBroken();
            } else {
              self->body_.append(self->chunk_.data(), n);
            }
          }
          if (self->parser_->is_done()) return self->OnBodyDone();
          if (more) self->ReadBody();
        });
  }

  void OnBodyDone() {
    // The exchange ended cleanly: the connection carries the next call to this node.
    const bool reusable = parser_->keep_alive() && buffer_.size() == 0 && !writing_ &&
                          (!streaming_body_ || body_sent_) && socket_.is_open();
    if (reusable) {
      PeerConnections::ForThisThread(io_, options_.idle_timeout).Give(addr_, std::move(socket_));
    } else {
      CloseSocket();
    }
    if (answer_stream_) {
      answer_stream_->Finish(true);
      answer_stream_.reset();
      return;
    }
    answer_.body = std::move(body_);
    if (!own_socket_.empty()) {
      // A socket of this node, come back through other nodes: attached here, as a local one.
      if (std::optional<PendingPeerSocket> socket = TakePeerSocket(own_socket_)) {
        answer_.web_socket_id = socket->socket_id;
        answer_.web_socket_loop = static_cast<int>(socket->loop);
      } else {
        answer_ = runtime::HttpResponseData{};
        answer_.status = 500;
        answer_.body = kPeerSocketGoneMessage;
      }
    }
    Answer(std::move(answer_));
  }

  // The request could not be written whole. Once the owner has answered, that is its business
  // (it may answer without reading the whole body); before, the call fails.
  void OnWriteFailed() {
    body_sent_ = true;
    if (call_.request.body_stream) call_.request.body_stream->Cancel();
    if (head_done_ || (finished_ && !answer_stream_)) return;
    OnBroken();
  }

  // The connection failed: before the answer, the call fails retryably; after it, the body
  // breaks as a lost connection does.
  void OnBroken() {
    CloseSocket();
    if (answer_stream_) {
      answer_stream_->Finish(false, runtime::ResponseStream::ConnectionLost());
      answer_stream_.reset();
      return;
    }
    if (!head_done_ && !connected_) return Unreachable();
    Answer(runtime::HttpResponseData::RetryableError(503, runtime::kClusterUnavailableMessage));
  }

  void Unreachable() {
    cluster_.directory().Forget(object_);
    CloseSocket();
    runtime::HttpResponseData answer =
        runtime::HttpResponseData::RetryableError(503, runtime::kClusterUnavailableMessage);
    answer.headers.emplace_back("retry-after", "1");
    Answer(std::move(answer));
  }

  // Sends the call again, to `owner` at `addr`, as the next hop (after a "not owner" answer; the
  // body, if any, was sent whole and is gone from call_: the attempt is rebuilt from the copy kept
  // for it).
  void AttemptNext(const std::string& owner, const std::string& addr) {
    auto next =
        std::make_shared<PeerCall>(io_, cluster_, std::move(*retry_), options_, std::move(done_));
    retry_.reset();
    finished_ = true;
    next->Attempt(owner, addr, hops_ + 1);
  }

  void Answer(runtime::HttpResponseData answer) {
    if (finished_) return;
    finished_ = true;
    ReleaseOrder();
    timer_.cancel();
    if (!answer.body_stream && call_.request.body_stream && !body_sent_) {
      call_.request.body_stream->Cancel();
    }
    runtime::ResponseCallback done = std::move(done_);
    if (done) done(std::move(answer));
  }

  // The call is queued on the callee's node (or failed, or was answered): the next call from this
  // loop to the same callee may leave. Started in a handler of its own (no recursion however
  // many wait).
  void ReleaseOrder() {
    if (!holds_order_) return;
    holds_order_ = false;
    auto it = unqueued_callees.find(object_);
    if (it == unqueued_callees.end()) return;
    if (it->second.empty()) {
      unqueued_callees.erase(it);
      return;
    }
    std::function<void()> next = std::move(it->second.front());
    it->second.pop_front();
    asio::post(io_, std::move(next));
  }

  void CloseSocket() {
    boost::system::error_code ignored;
    resolver_.cancel();
    socket_.close(ignored);
  }

 public:
  // What a second attempt at another node sends (calls without a streamed body only).
  std::optional<runtime::OutgoingCall> retry_;
  // Whether this call is the one its callee's later calls from this loop wait for.
  bool holds_order_ = false;
  // Set for the push of a stream's bytes (StartPeerStreamPush): the call's body is the stream.
  std::string stream_token_;
  const std::string& object() const { return object_; }

 private:
  asio::io_context& io_;
  cluster::ClusterNode& cluster_;
  const PeerCallOptions options_;
  runtime::OutgoingCall call_;
  runtime::ResponseCallback done_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::string object_;
  std::string node_;
  std::string host_;
  std::string addr_;
  std::chrono::steady_clock::time_point started_;
  int hops_ = 1;
  bool connected_ = false;
  bool head_done_ = false;
  bool finished_ = false;
  bool writing_ = false;
  bool reading_ = false;
  bool streaming_body_ = false;
  bool body_sent_ = false;
  beast::flat_buffer buffer_{kMaxPeerAnswerHead + kPeerReadStep};
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::string chunk_;
  std::string body_;
  runtime::HttpResponseData answer_;
  std::shared_ptr<runtime::ResponseStream> answer_stream_;
  // The token of a socket this node keeps, named by the answer (taken in OnBodyDone).
  std::string own_socket_;
};

// Pushes `channel`'s bytes (this node's code produces them) to node `node` at `addr`, where the
// other end of stream `token` consumes them.
void StartPeerStreamPush(asio::io_context& io, cluster::ClusterNode& cluster,
                         const std::string& node, const std::string& addr, const std::string& token,
                         std::shared_ptr<runtime::ResponseStream> channel,
                         const PeerCallOptions& options) {
  if (outstanding_peer_calls.load() >= kMaxOutstandingPeerCalls) {
    channel->Finish(false, runtime::ResponseStream::ConnectionLost());
    channel->Cancel();
    return;
  }
  runtime::OutgoingCall call;
  call.fetch = true;
  call.request.body_stream = std::move(channel);
  auto push = std::make_shared<PeerCall>(io, cluster, std::move(call), options,
                                         [](runtime::HttpResponseData) {});
  push->stream_token_ = token;
  push->Attempt(node, addr, 1);
}

// Ends channels a message will not carry, as a dropped message's (runtime/rpc_streams.h).
void EndChannels(const std::vector<runtime::RpcChannel>& channels) {
  runtime::RpcStreamList dropped{std::vector<runtime::RpcChannel>(channels)};
}

}  // namespace

std::optional<std::vector<PeerStreamRef>> SendPeerStreams(
    asio::io_context& io, cluster::ClusterNode& cluster, const std::string& node,
    const std::string& addr, const PeerCallOptions& options,
    std::vector<runtime::RpcChannel> channels) {
  if (channels.size() > kMaxPeerMessageStreams) {
    EndChannels(channels);
    return std::nullopt;
  }
  std::vector<PeerStreamRef> refs;
  refs.reserve(channels.size());
  for (size_t i = 0; i < channels.size(); ++i) {
    PeerStreamRef ref{NewPeerStreamToken(), channels[i].writable};
    if (ref.writable) {
      if (!JoinPeerStream(ref.token, channels[i].stream, io)) {
        EndChannels(std::vector<runtime::RpcChannel>(channels.begin() + i, channels.end()));
        return std::nullopt;
      }
    } else {
      StartPeerStreamPush(io, cluster, node, addr, ref.token, channels[i].stream, options);
    }
    refs.push_back(std::move(ref));
  }
  return refs;
}

runtime::RpcStreams ReceivePeerStreams(asio::io_context& io, cluster::ClusterNode& cluster,
                                       const std::string& node, const std::string& addr,
                                       const PeerCallOptions& options,
                                       const std::vector<PeerStreamRef>& refs) {
  if (refs.empty()) return nullptr;
  std::vector<runtime::RpcChannel> channels;
  channels.reserve(refs.size());
  for (const PeerStreamRef& ref : refs) {
    if (ref.writable) {
      auto channel = std::make_shared<runtime::ResponseStream>();
      StartPeerStreamPush(io, cluster, node, addr, ref.token, channel, options);
      channels.push_back({std::move(channel), true});
      continue;
    }
    std::shared_ptr<runtime::ResponseStream> channel = JoinPeerStream(ref.token, nullptr, io);
    if (!channel) {
      // Too many streams wait here: this one reads as a lost connection.
      channel = std::make_shared<runtime::ResponseStream>();
      channel->Finish(false, runtime::ResponseStream::ConnectionLost());
    }
    channels.push_back({std::move(channel), false});
  }
  return std::make_shared<runtime::RpcStreamList>(std::move(channels));
}

void StartPeerCall(asio::io_context& io, cluster::ClusterNode& cluster, runtime::OutgoingCall call,
                   std::string node, std::string addr, const PeerCallOptions& options,
                   runtime::ResponseCallback done) {
  if (outstanding_peer_calls.load() >= kMaxOutstandingPeerCalls) {
    if (call.request.body_stream) call.request.body_stream->Cancel();
    done(runtime::HttpResponseData::RetryableError(503, kPeerBusyMessage));
    return;
  }
  std::optional<runtime::OutgoingCall> retry;
  // A "not owner" answer may send it once more, unless something of it streams.
  if (!call.request.body_stream && !call.streams) retry = call;
  auto peer = std::make_shared<PeerCall>(io, cluster, std::move(call), options, std::move(done));
  peer->retry_ = std::move(retry);
  auto [waiting, first] = unqueued_callees.try_emplace(peer->object());
  if (!first) {
    // An earlier call to this callee is not queued there yet: this one leaves after it.
    waiting->second.push_back([peer, node = std::move(node), addr = std::move(addr)] {
      peer->holds_order_ = true;
      peer->Attempt(node, addr, 1);
    });
    return;
  }
  peer->holds_order_ = true;
  peer->Attempt(node, addr, 1);
}

}  // namespace dorm::net
