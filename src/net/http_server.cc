#include "net/http_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "cluster/cluster_node.h"
#include "cluster/forward_auth.h"
#include "net/access_gate.h"
#include "net/event_web_socket.h"
#include "net/expiry_timer.h"
#include "net/forward_tunnel.h"
#include "net/peer_call.h"
#include "net/peer_call_codec.h"
#include "net/peer_sockets.h"
#include "net/peer_streams.h"
#include "net/request_head.h"
#include "net/response_head.h"
#include "net/route.h"
#include "net/web_socket_connection.h"
#include "runtime/app_quarantine.h"
#include "runtime/class_catalog.h"
#include "runtime/engine_pool.h"
#include "runtime/object_id.h"
#include "runtime/reset_reason.h"
#include "runtime/response_stream.h"
#include "runtime/rpc_limits.h"
#include "runtime/rpc_streams.h"
#include "runtime/runtime_shared.h"
#include "runtime/thread_engine.h"
#include "util/log.h"
#include "util/rate_limited_log.h"

namespace dorm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

runtime::HttpResponseData Plain(int status, const std::string& message) {
  return runtime::HttpResponseData::JsonError(status, message);
}

// After a response refusing a request whose body was not read: how long, and how many bytes, the
// connection keeps discarding what the client still sends before it is closed, so that closing
// with unread data (which sends a reset) does not destroy the answer before the client reads it.
// (As nginx's lingering close; the bytes are read into the connection's small buffer and dropped,
// so discarding costs no memory.)
constexpr auto kLingerTime = std::chrono::seconds(5);
constexpr size_t kLingerBytes = 128u << 20;
// Bytes read from a socket at once; a connection waiting for a request to start reads in small
// steps, so that idle connections hold little memory.
constexpr size_t kReadStep = 64u << 10;
constexpr size_t kIdleReadStep = 4u << 10;
// What a streamed upload may hold at once, and so what it reserves of the server-wide body budget:
// the chunks queued for the object (the channel pauses reading past its high-water mark) plus
// one read.
constexpr size_t kUploadWindow = runtime::ResponseStream::kHighWater + kReadStep;

RateLimitedLog& ResponseHeadLog() {
  static RateLimitedLog log(LogLevel::kWarn, std::chrono::seconds(10));
  return log;
}

// One HTTP connection. Reads a request head, admits it on the head, dispatches it and writes the
// response; then the next request (keep-alive), until either side closes or a timeout fires.
// Lives on its loop's thread; holds itself alive through pending operations.
//
// The body of a request to an object or a Worker streams (StartUpload): the request is
// dispatched once its head is admitted, and the body's bytes pass to the object through a
// ResponseStream as they come off the socket (the connection is that stream's producer), while
// the response may already be written. A body whose bytes are all buffered with the head, and
// the bodies of admin requests and WebSocket upgrades, are read whole before dispatch.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer& server, size_t loop)
      : socket_(std::move(socket)),
        server_(server),
        pool_(server.pool()),
        loop_(loop),
        io_(pool_.io(loop)),
        timer_(io_),
        upload_timer_(io_),
        limits_{server.options().max_header_bytes, server.options().max_body_bytes},
        buffer_(ConnectionBufferBytes(limits_)),
        accounts_(server.accounts()),
        reservation_(accounts_->body_budget) {}
  // The connection was counted when it was accepted (HttpServer::HandOff); the count ends with
  // the session.
  ~Session() {
    // An upload whose object still reads it ends with the connection.
    if (upload_stream_) upload_stream_->Finish(false, runtime::ResponseStream::ConnectionLost());
    --accounts_->http_connections;
  }

  void Start() { StartRequest(/*first=*/true); }
  // Goes on with a connection whose forwarded request was answered (net/forward_tunnel.h):
  // `bytes` are what was read of its next request.
  void Resume(const std::string& bytes) {
    if (bytes.size() > buffer_.max_size()) {
      Close();
      return;
    }
    if (!bytes.empty()) {
      auto room = buffer_.prepare(bytes.size());
      std::memcpy(room.data(), bytes.data(), bytes.size());
      buffer_.commit(bytes.size());
    }
    StartRequest(/*first=*/false);
  }

 private:
  // kStreaming: the head of a response whose body streams is written; its chunks are written as
  // the object produces them (ResponseStream).
  enum class Phase { kIdle, kHead, kBody, kDispatched, kWriting, kStreaming, kLinger, kClosed };
  // A streamed upload, beside the phases (the response may be written while it is read).
  // kReading: bytes pass to the object (a read may be outstanding); kPaused: the object has not
  // taken what is queued (nothing is read until it does); kAbandoned: the object no longer reads
  // it (cancelled, or answered without it), the rest stays unread; kFailed: the client broke it
  // (lost, too large, malformed, too slow); kDone: the whole body passed.
  enum class Upload { kNone, kReading, kPaused, kAbandoned, kFailed, kDone };

  // --- Timeouts: one timer; each phase re-arms it. A stale expiry (re-armed since) is ignored.
  void Arm(std::chrono::steady_clock::duration after) {
    timer_.Arm(after, shared_from_this(), [this] { OnTimeout(); });
  }
  void Disarm() { timer_.Disarm(); }
  // As Disarm() while the object works on a request: the timer is armed again for the answer.
  void Suspend() { timer_.Suspend(); }
  void OnTimeout() {
    switch (phase_) {
      case Phase::kHead:
        if (!parser_->got_some() && buffer_.size() == 0) {
          Close();  // not a byte of a request: nothing to answer
          return;
        }
        [[fallthrough]];
      case Phase::kBody: {
        bool in_head = phase_ == Phase::kHead;
        beast::error_code ignored;
        socket_.cancel(ignored);  // the pending read sees the phase change and stops
        Refuse(408, in_head ? "The request head did not arrive in time."
                            : "The request body did not arrive in time.");
        return;
      }
      default:
        // Idle keep-alive, a client that does not read its response, or the end of a linger.
        Close();
        return;
    }
  }

  // --- Reading.
  void StartRequest(bool first) {
    parser_.emplace();
    ConfigureRequestParser(*parser_, limits_);
    body_pending_ = false;
    keep_alive_ = true;
    head_ = false;
    parsing_body_ = false;
    server_answered_ = false;
    upload_ = Upload::kNone;
    upload_stream_.reset();
    upgrade_request_.reset();
    object_key_.clear();
    internal_ = Internal::kNone;
    internal_streams_.clear();
    stream_channel_.reset();
    stream_failure_.reset();
    stream_answered_ = false;
    if (buffer_.size() == 0) buffer_.shrink_to_fit();  // idle connections keep no large buffer
    if (first || buffer_.size() > 0) {
      phase_ = Phase::kHead;
      Arm(server_.options().header_timeout);
    } else {
      phase_ = Phase::kIdle;
      Arm(server_.options().keep_alive_timeout);
    }
    ParseHead();
  }

  // Feeds buffered bytes to the parser until it needs more or stops with an error. Returns false
  // if the request was answered (a parse error or an exception) and the caller must stop.
  bool Parse() {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code ec;
      size_t used = 0;
      try {
        used = parser_->put(buffer_.data(), ec);
      } catch (const std::exception& e) {
        // Beast's field storage throws for a field it cannot hold (e.g. a trailer value over
        // 65,533 bytes); the request is refused, the server goes on.
        Refuse(400, std::string("Malformed HTTP request: ") + e.what() + ".");
        return false;
      }
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) {
        OnParseError(ec);
        return false;
      }
      if (!parsing_body_ && parser_->is_header_done()) break;
      if (used == 0) break;
    }
    return true;
  }

  void ParseHead() {
    if (!Parse()) return;
    if (parser_->is_header_done()) {
      OnHead();
      return;
    }
    ReadSome([](Session& self) { self.ParseHead(); });
  }

  // Reads more bytes into the buffer, then calls `next`. A full buffer means that a head, chunk
  // header or trailer is larger than allowed.
  void ReadSome(void (*next)(Session&)) {
    size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) {
      OnParseError(http::error::buffer_overflow);
      return;
    }
    bool waiting = buffer_.size() == 0 && !parser_->got_some();
    socket_.async_read_some(buffer_.prepare(std::min(room, waiting ? kIdleReadStep : kReadStep)),
                            [self = shared_from_this(), next](beast::error_code ec, size_t n) {
                              // A timeout answered the request meanwhile: this read is stale.
                              if (self->phase_ != Phase::kIdle && self->phase_ != Phase::kHead &&
                                  self->phase_ != Phase::kBody) {
                                return;
                              }
                              self->buffer_.commit(n);
                              if (ec) {
                                // End of stream or a reset mid-request: nothing to answer to.
                                self->Close();
                                return;
                              }
                              self->OnBytes(n);
                              next(*self);
                            });
  }

  void OnBytes(size_t n) {
    if (n == 0) return;
    if (phase_ == Phase::kIdle) {
      phase_ = Phase::kHead;
      Arm(server_.options().header_timeout);
    } else if (phase_ == Phase::kBody) {
      Arm(server_.options().body_timeout);  // the body timeout is between bytes, as nginx's
    }
  }

  void OnParseError(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      Refuse(431, "Request header fields too large: the limit is " +
                      std::to_string(limits_.max_header_bytes) + " bytes.");
    } else if (ec == http::error::body_limit) {
      Refuse(413, "Request body too large: the limit is " + std::to_string(limits_.max_body_bytes) +
                      " bytes.");
    } else if (ec == http::error::buffer_overflow) {
      Refuse(parsing_body_ ? 431 : 400,
             parsing_body_ ? "Request trailer fields or chunk header too large: the limit is " +
                                 std::to_string(buffer_.max_size()) + " bytes."
                           : "Malformed HTTP request: the request head is too large.");
    } else {
      Refuse(400, "Malformed HTTP request: " + ec.message() + ".");
    }
  }

  void OnHead() {
    const auto& req = parser_->get();
    const HeadFields fields = ScanHeadFields(req);
    keep_alive_ = KeepAlive(req, fields);
    head_ = req.method() == http::verb::head;
    http10_ = req.version() < 11;
    body_pending_ = !parser_->is_done();
    had_body_ = body_pending_;
    if (auto refusal = CheckRequestHead(req)) {
      Refuse(refusal->status, refusal->message);
      return;
    }
    host_ = std::string(fields.host);
    target_ = std::string(req.target());
    if (!CheckForwarded(req)) return;
    if (server_.cluster() && target_.compare(0, sizeof kInternalPrefix - 1, kInternalPrefix) == 0) {
      AdmitInternal(req);
      return;
    }
    // The request is handed to the loop that owns its object; measured on a hot object, that
    // beats moving the connection to the owner, since the other loops then share the HTTP work.
    // (A WebSocket, once upgraded, does move to the owner: all its traffic is the object's.)
    plan_ = server_.PlanRequest(target_, host_);
    where_ =
        plan_.route.kind == RouteKind::kObject
            ? plan_.address.app + "/" + plan_.address.class_name + "/" + plan_.address.instance_name
        : plan_.route.kind == RouteKind::kWorker
            ? plan_.address.app + " worker " + target_.substr(0, target_.find('?'))
            : target_.substr(0, target_.find('?'));
    request_ = runtime::HttpRequestData{};
    request_.method = std::string(req.method_string());
    request_.headers = ForwardedHeaders(req);
    if (auto answer = server_.Admit(plan_, request_, target_, host_, &protocol_fallback_)) {
      // Refused on the head: the body (if any) is never read, so the connection cannot go on.
      if (body_pending_) keep_alive_ = false;
      Write(std::move(*answer));
      return;
    }
    if (server_.cluster() && plan_.route.kind == RouteKind::kObject) {
      if (!forwarded_) {
        Place();
      } else {
        ServeHere();
      }
      return;
    }
    ContinueAdmitted();
  }

  // --- Cluster mode.
  // A request carrying the forwarding headers must have come from a node of the cluster: their
  // signature is checked, and anything else is refused. Returns false if the request was answered.
  bool CheckForwarded(const RequestHead& req) {
    forwarded_.reset();
    cluster::ClusterNode* cluster = server_.cluster();
    if (!cluster) return true;  // not a cluster: x-dorm-* headers are dropped as always
    auto forwarded = req.find(cluster::kForwardedHeader);
    auto signature = req.find(cluster::kForwardSignatureHeader);
    if (forwarded == req.end() && signature == req.end()) return true;
    std::optional<cluster::ForwardFacts> facts;
    if (forwarded != req.end() && signature != req.end()) {
      const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      // An internal call's description is signed with its target.
      const bool internal =
          req.target().compare(0, sizeof kInternalPrefix - 1, kInternalPrefix) == 0;
      const std::string target =
          internal ? SignedTarget(req.target(), req[kCallHeader]) : std::string(req.target());
      facts = cluster::VerifyForward(cluster->forward_secret(), req.method_string(), target,
                                     forwarded->value(), signature->value(), now);
    }
    if (!facts) {
      Refuse(403,
             "The request carries cluster forwarding headers that no node of this cluster "
             "signed.");
      return false;
    }
    if (facts->hops > cluster::kMaxForwardHops) {
      Refuse(508, "The request was forwarded between the nodes of the cluster too many times.");
      return false;
    }
    forwarded_ = std::move(facts);
    return true;
  }

  // A call between objects that another node sends to this one, the callee's owner
  // (net/peer_call.h): only with a valid forwarding signature (CheckForwarded). The callee gets it
  // as it would get a call from an object of this node: an RPC event, or an HTTP event whose body
  // streams; the access checks of client requests do not apply (the caller is an object of the
  // same app, as on the local path).
  void AdmitInternal(const RequestHead& req) {
    if (!forwarded_) {
      Refuse(403,
             "Internal calls between the nodes of the cluster are accepted only from a node of "
             "the cluster.");
      return;
    }
    const std::string socket_prefix = std::string(kInternalSocketTarget) + "?";
    if (target_.compare(0, socket_prefix.size(), socket_prefix) == 0) {
      const std::string token = target_.substr(socket_prefix.size());
      if (req.method() != http::verb::get || !websocket::is_upgrade(req) ||
          !IsPeerStreamToken(token)) {
        Refuse(400, "Malformed internal call between the nodes of the cluster.");
        return;
      }
      internal_ = Internal::kSocket;
      internal_socket_ = token;
      plan_ = HttpServer::Plan{};
      plan_.route.kind = RouteKind::kObject;  // so that it is taken as an upgrade
      where_ = "socket (from node " + forwarded_->node + ")";
      request_ = runtime::HttpRequestData{};
      ContinueAdmitted();
      return;
    }
    std::optional<PeerCallMeta> meta = DecodeCallMeta(req[kCallHeader]);
    if (target_ == kInternalStreamTarget) {
      if (req.method() != http::verb::post || !meta || meta->stream.empty()) {
        Refuse(400, "Malformed internal call between the nodes of the cluster.");
        return;
      }
      AdmitStream(meta->stream);
      return;
    }
    const bool fetch = target_ == kInternalFetchTarget;
    if ((!fetch && target_ != kInternalRpcTarget) || req.method() != http::verb::post || !meta ||
        meta->address.app.empty() || meta->address.class_name.empty() ||
        meta->address.object_id.size() != 64) {
      Refuse(400, "Malformed internal call between the nodes of the cluster.");
      return;
    }
    // A call on what a Worker exported: for this node's instance of it (WorkerInstanceOnNode),
    // named as the calling node's stub names it, never an instance made up for another node.
    if (runtime::IsWorkerEntrypoint(meta->address.class_name) &&
        (fetch ||
         runtime::WorkerInstanceNode(meta->address.instance_name) != server_.cluster()->node() ||
         runtime::ObjectIdForName(meta->address.app, meta->address.class_name,
                                  meta->address.instance_name) != meta->address.object_id)) {
      Refuse(400, "Malformed internal call between the nodes of the cluster.");
      return;
    }
    internal_ = fetch ? Internal::kFetch : Internal::kRpc;
    plan_ = HttpServer::Plan{};
    plan_.route.kind = RouteKind::kObject;
    plan_.address = std::move(meta->address);
    object_key_ = runtime::ObjectKey(plan_.address);
    where_ = plan_.address.app + "/" + plan_.address.class_name + "/" +
             runtime::InstanceLabel(plan_.address) + (fetch ? " (from node " : " rpc (from node ") +
             forwarded_->node + ")";
    request_ = runtime::HttpRequestData{};
    if (fetch) {
      request_.method = std::move(meta->http_method);
      request_.url = std::move(meta->url);
      request_.headers = std::move(meta->headers);
    } else {
      internal_method_ = std::move(meta->method);
      internal_streams_ = std::move(meta->streams);
    }
    ContinueAdmitted();
  }

  // The push of a stream's bytes from the node that produces them (net/peer_streams.h): its body
  // goes to the channel of stream `token` as a client's upload goes to an object, with the same
  // backpressure; it is answered once the body ended or the reader cancelled it.
  void AdmitStream(const std::string& token) {
    stream_channel_ = JoinPeerStream(token, nullptr, io_);
    if (!stream_channel_) {
      Refuse(503, "Too many streams between the nodes of the cluster wait; retry the request.");
      return;
    }
    internal_ = Internal::kStream;
    plan_ = HttpServer::Plan{};
    plan_.route.kind = RouteKind::kObject;  // so that its body streams (BeginBody)
    where_ = "stream (from node " + forwarded_->node + ")";
    request_ = runtime::HttpRequestData{};
    // A stream is as long as its producer makes it, and pauses as long as it does, as between the
    // objects of one node: neither the body limit nor the body timeout applies (ArmUpload).
    parser_->body_limit(boost::none);
    on_chunk_header_ = [this](std::uint64_t size, beast::string_view extensions,
                              beast::error_code&) {
      if (size != 0 || extensions.empty()) return;
      std::optional<runtime::ResponseStream::Failure> failure =
          DecodePeerStreamFailure(std::string_view(extensions.data(), extensions.size()));
      stream_failure_ = failure ? std::move(*failure) : runtime::ResponseStream::ConnectionLost();
    };
    parser_->on_chunk_header(on_chunk_header_);
    ContinueAdmitted();
  }

  // The stream's push is answered (empty 200) once its channel no longer takes bytes.
  void AnswerStream() {
    if (internal_ != Internal::kStream || stream_answered_) return;
    stream_answered_ = true;
    asio::post(io_, [self = shared_from_this(), seq = request_seq_] {
      self->OnAnswer(seq, runtime::HttpResponseData{});
    });
  }

  // What a stream's push or an answer's streams are sent with.
  PeerCallOptions PeerOptions() const {
    PeerCallOptions options;
    options.head_timeout = 3 * server_.options().peer_progress_every;
    return options;
  }

  // The answer to an internal call: the callee's answer, but for its body, described in
  // kAnswerHeader. What cannot cross nodes fails the call instead.
  runtime::HttpResponseData InternalAnswer(runtime::HttpResponseData response) {
    const char* refusal = nullptr;
    std::optional<std::string> socket_token;
    std::optional<std::string> socket_node;
    if (response.remote_web_socket && internal_ == Internal::kFetch && response.status == 101) {
      // Another node's socket, passed on: the caller's node connects its client to that node.
      socket_token = response.remote_web_socket->token;
      socket_node = response.remote_web_socket->node;
      response.remote_web_socket.reset();
    } else if (response.web_socket_id != 0 && internal_ == Internal::kFetch &&
               response.status == 101) {
      // The socket stays here; the caller's node may pass its client's connection to it.
      runtime::EnginePool* pool = &pool_;
      socket_token = OfferPeerSocket(
          PendingPeerSocket{*SocketOwner(response), response.web_socket_id, response.headers}, io_,
          [pool](const PendingPeerSocket& socket) {
            asio::post(pool->io(socket.loop), [pool, socket] {
              if (runtime::ThreadEngine* engine = pool->engine(socket.loop)) {
                engine->OnWebSocketClosed(socket.socket_id, 1006, "", false);
              }
            });
          });
      if (socket_token) response.web_socket_id = 0;
    }
    if (response.web_socket_id != 0 || response.remote_web_socket) {
      // Too many sockets wait here (or a socket in an answer that cannot carry one).
      if (response.web_socket_id != 0) NotifySocketNeverConnected(response);
      response.web_socket_id = 0;
      response.remote_web_socket.reset();
      refusal =
          "A WebSocket cannot be returned through a Durable Object stub's fetch() from another "
          "node of the cluster.";
    }
    // The result's streams go to the caller's node beside the answer (net/peer_streams.h).
    std::vector<PeerStreamRef> streams;
    std::vector<runtime::RpcChannel> channels =
        response.rpc_streams ? response.rpc_streams->Release() : std::vector<runtime::RpcChannel>{};
    if (!channels.empty()) {
      std::optional<std::string> addr = server_.cluster()->directory().AddressOf(forwarded_->node);
      std::optional<std::vector<PeerStreamRef>> refs;
      if (!refusal && addr) {
        refs = SendPeerStreams(io_, *server_.cluster(), forwarded_->node, *addr, PeerOptions(),
                               std::move(channels));
      } else {
        // Ended as an undelivered message's are, so that the callee stops producing them.
        runtime::RpcStreamList dropped(std::move(channels));
      }
      if (refs) {
        streams = std::move(*refs);
      } else if (!refusal) {
        refusal = "Too many streams to return to a Durable Object on another node of the cluster.";
      }
    }
    if (refusal) {
      if (response.body_stream) response.body_stream->Cancel();
      response = runtime::HttpResponseData::JsonError(500, refusal);
      streams.clear();
      socket_token.reset();
      socket_node.reset();
    }
    runtime::HttpResponseData outer;
    outer.headers.emplace_back(kAnswerHeader, EncodeAnswerMeta(response, streams));
    if (socket_token) outer.headers.emplace_back(kSocketHeader, *socket_token);
    if (socket_node) outer.headers.emplace_back(kSocketNodeHeader, *socket_node);
    outer.body = std::move(response.body);
    outer.body_stream = std::move(response.body_stream);
    return outer;
  }

  // Where the cluster serves the request's object: here, or forwarded to its node. The answer
  // may need PostgreSQL (the directory's thread); meanwhile nothing is read.
  void Place() {
    runtime::ObjectAddress complete = plan_.address;
    runtime::CompleteAddress(complete);
    object_key_ = runtime::ObjectKey(complete);
    cluster::ClusterDirectory& directory = server_.cluster()->directory();
    if (std::optional<cluster::Placement> known = directory.Cached(object_key_)) {
      OnPlaced(*known);
      return;
    }
    phase_ = Phase::kDispatched;
    Disarm();
    directory.Locate(object_key_,
                     [self = shared_from_this(), seq = ++place_seq_](cluster::Placement placement) {
                       asio::post(self->io_, [self, seq, placement = std::move(placement)] {
                         if (seq != self->place_seq_ || self->phase_ != Phase::kDispatched) return;
                         self->OnPlaced(placement);
                       });
                     });
  }

  void OnPlaced(const cluster::Placement& placement) {
    switch (placement.kind) {
      case cluster::Placement::Kind::kLocal:
        ServeHere();
        return;
      case cluster::Placement::Kind::kRemote:
        Forward(placement);
        return;
      case cluster::Placement::Kind::kUnavailable:
        phase_ = Phase::kHead;  // answered as a refusal of the head: the body is never read
        Refuse(503, runtime::kClusterUnavailableMessage);
        return;
    }
  }

  // A request for an object this node serves (its directory said so, or another node forwarded
  // it here). One with a body is read only once this node holds the object: the object is taken
  // first if it must be (EnginePool::ProbeOwnership), so that a request for an object another node
  // took meanwhile goes on there (or, if forwarded, is answered "not owner") with its body unread,
  // and a forwarding node's "100 Continue" means the owner is here. One without a body is
  // dispatched at once, and redirected the same way if its activation finds another owner
  // (OnAnswer), so that the common request costs no extra step. Taking the object may restore it
  // from the log for long: meanwhile a forwarding node hears "102 Processing" at once and every
  // kForwardProgressEvery (ArmProgress), so that it tells this node from a paused one, and the
  // "100 Continue" (or the refusal) is written only once no 102 is being written (OnProbed).
  void ServeHere() {
    if (!body_pending_) {
      ContinueAdmitted();
      return;
    }
    phase_ = Phase::kDispatched;
    Disarm();
    const size_t loop = pool_.RouteObject(plan_.address);
    pool_.ProbeOwnership(
        loop, plan_.address,
        [self = shared_from_this(), seq = ++place_seq_](runtime::HttpResponseData answer) {
          asio::post(self->io_, [self, seq, answer = std::move(answer)]() mutable {
            if (seq != self->place_seq_ || self->phase_ != Phase::kDispatched) return;
            self->OnProbed(std::move(answer));
          });
        });
    if (forwarded_) ArmProgress(/*first=*/true);
  }

  void OnProbed(runtime::HttpResponseData answer) {
    if (progress_writing_) {
      held_probe_ = std::move(answer);  // goes on once the interim answer is out (ArmProgress)
      return;
    }
    if (progress_timer_) progress_timer_->cancel();
    if (answer.owned_elsewhere) {
      auto held = std::make_shared<runtime::HttpResponseData>(std::move(answer));
      if (GoToOwner(held->owner_node, [self = shared_from_this(), held] {
            held->owned_elsewhere = false;  // the owner could not be found: answered as it is
            self->OnProbed(std::move(*held));
          })) {
        return;
      }
      answer = std::move(*held);
    }
    if (!answer.runtime_error) {
      ContinueAdmitted();
      return;
    }
    // Refused on the head (not serving now, the class gone...): the body is never read.
    phase_ = Phase::kHead;
    keep_alive_ = false;
    body_pending_ = true;
    Write(std::move(answer));
  }

  // The object's activation found that node `owner` owns it. A forwarded request is answered
  // "not owner", naming it, and the forwarding node goes on there; a client's request is
  // forwarded there itself. Returns false (the caller answers) when that cannot be done: the
  // owner is unknown or is this node. An owner the directory has not seen live yet (it registered
  // since the last refresh) is looked up (ClusterDirectory::Resolve) while nothing is read, and
  // then `otherwise` runs, on the loop, if it holds no live lease.
  bool GoToOwner(const std::string& owner, std::function<void()> otherwise) {
    if (forwarded_) {
      auto moved = Plain(cluster::kNotOwnerStatus, runtime::kOwnedElsewhereMessage);
      moved.headers.emplace_back(cluster::kOwnerHeader, owner);
      phase_ = Phase::kHead;  // answered as a refusal of the head: the body is never read
      keep_alive_ = false;
      body_pending_ = true;
      Write(std::move(moved));
      return true;
    }
    cluster::ClusterDirectory& directory = server_.cluster()->directory();
    directory.Forget(object_key_);
    if (owner.empty() || owner == directory.self()) return false;
    cluster::Placement placement;
    placement.kind = cluster::Placement::Kind::kRemote;
    placement.node = owner;
    if (std::optional<std::string> addr = directory.AddressOf(owner)) {
      placement.addr = std::move(*addr);
      Forward(placement);
      return true;
    }
    phase_ = Phase::kDispatched;
    Disarm();
    directory.Resolve(owner, [self = shared_from_this(), seq = ++place_seq_,
                              placement = std::move(placement), otherwise = std::move(otherwise)](
                                 std::optional<std::string> addr) mutable {
      asio::post(self->io_, [self, seq, placement = std::move(placement),
                             otherwise = std::move(otherwise), addr = std::move(addr)]() mutable {
        if (seq != self->place_seq_ || self->phase_ != Phase::kDispatched) return;
        if (!addr) return otherwise();
        placement.addr = std::move(*addr);
        self->Forward(placement);
      });
    });
    return true;
  }

  // Hands the connection to a tunnel to the object's node; this session ends here (a kept
  // connection comes back, after the response, as a new session: Resume).
  void Forward(const cluster::Placement& placement) {
    const auto& req = parser_->get();
    ForwardJob job;
    job.object = object_key_;
    job.method = std::string(req.method_string());
    job.target = target_;
    job.version = req.version() < 11 ? 10 : 11;
    job.has_body = body_pending_;
    job.upgrade = websocket::is_upgrade(req);
    // The headers that Connection names are this connection's too (RFC 9110 7.6.1), except
    // Upgrade, which the tunnel passes on with its own Connection header, and the ones that frame
    // or route the request: the bytes that follow the head are passed on as they are, so the
    // owner must read them with the framing this node checked.
    std::vector<std::string> named;
    for (const auto& field : req) {
      if (!beast::iequals(field.name_string(), "connection")) continue;
      for (const auto& token : http::token_list(field.value())) {
        if (beast::iequals(token, "upgrade") || beast::iequals(token, "content-length") ||
            beast::iequals(token, "transfer-encoding") || beast::iequals(token, "host")) {
          continue;
        }
        named.emplace_back(token);
      }
    }
    for (const auto& field : req) {
      const auto name = field.name_string();
      // Hop-by-hop headers are this connection's; x-dorm-* are the server's own.
      if (beast::iequals(name, "connection") || beast::iequals(name, "keep-alive") ||
          beast::iequals(name, "proxy-connection") || beast::iequals(name, "te") ||
          IsServerHeaderName(name)) {
        continue;
      }
      bool hop = false;
      for (const std::string& token : named) hop = hop || beast::iequals(name, token);
      if (hop) continue;
      if (beast::iequals(name, "expect")) {
        if (beast::iequals(field.value(), "100-continue")) job.expect_continue = true;
        continue;
      }
      job.fields.append(name.data(), name.size());
      job.fields += ": ";
      job.fields.append(field.value().data(), field.value().size());
      job.fields += "\r\n";
    }
    beast::error_code ec;
    tcp::endpoint remote = socket_.remote_endpoint(ec);
    if (!ec) job.client_address = remote.address().to_string();
    job.node = placement.node;
    job.addr = placement.addr;
    job.head = head_;
    job.keep_alive = keep_alive_ && !http10_ && !server_.draining();
    if (job.has_body && !parser_->chunked() && parser_->content_length()) {
      job.body_length = *parser_->content_length();
    }
    // Below the peers' keep-alive timeout (the nodes of a cluster run with the same flags).
    job.idle_timeout = std::min<std::chrono::milliseconds>(
        std::chrono::seconds(15), std::chrono::duration_cast<std::chrono::milliseconds>(
                                      server_.options().keep_alive_timeout / 2));
    std::string pending = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    phase_ = Phase::kClosed;
    Disarm();
    reservation_.Release();
    HttpServer* server = &server_;
    const size_t loop = loop_;
    StartForwardTunnel(io_, std::move(socket_), std::move(pending), std::move(job),
                       *server_.cluster(), accounts_,
                       [server, loop](tcp::socket socket, std::string bytes) {
                         ++server->accounts()->http_connections;  // as HandOff counts it
                         std::make_shared<Session>(std::move(socket), *server, loop)->Resume(bytes);
                       });
  }

  // The rest of OnHead for a request served here.
  void ContinueAdmitted() {
    const auto& req = parser_->get();
    if (phase_ == Phase::kDispatched) {
      phase_ = Phase::kHead;
      Arm(server_.options().header_timeout);
    }
    // An admin endpoint may answer an upgrade too (the live log: EventWebSocket).
    if ((plan_.route.kind == RouteKind::kObject || plan_.route.kind == RouteKind::kWorker ||
         plan_.route.kind == RouteKind::kAdmin) &&
        IsWebSocketUpgrade(req, ScanHeadFields(req))) {
      upgrade_request_.emplace(req.base());
    }
    if (!body_pending_) {
      OnRequestComplete();
      return;
    }
    phase_ = Phase::kBody;
    parsing_body_ = true;
    Arm(server_.options().body_timeout);
    parser_->eager(true);
    auto expect = req.find(http::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue")) {
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(socket_, asio::buffer(kContinue, sizeof kContinue - 1),
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) {
                            self->Close();
                            return;
                          }
                          self->BeginBody();
                        });
      return;
    }
    BeginBody();
  }

  // The body of an admitted request: streamed to an object or a Worker, unless what is buffered
  // already holds all of it; read whole for the admin API and WebSocket upgrades.
  void BeginBody() {
    if (!Parse()) return;
    const bool streams =
        (plan_.route.kind == RouteKind::kObject || plan_.route.kind == RouteKind::kWorker) &&
        !upgrade_request_ && internal_ != Internal::kRpc;
    if (!streams || parser_->is_done()) {
      ParseBody();
      return;
    }
    StartUpload();
  }

  // The server-wide body budget has no room for this body: 503, and the connection closes
  // once the answer is out (the unread body is never parsed).
  void RefuseOverBodyBudget() {
    auto answer =
        Plain(503, "The server is receiving too many request bodies at once; retry later.");
    answer.headers.emplace_back("retry-after", "5");
    keep_alive_ = false;
    body_pending_ = true;
    Write(std::move(answer));
  }

  void ParseBody() {
    if (!Parse()) return;
    // The memory the body now holds (its capacity: a growing string holds up to twice its
    // size) counts against the server's budget.
    if (!reservation_.GrowTo(parser_->get().body().capacity())) {
      RefuseOverBodyBudget();
      return;
    }
    if (parser_->is_done()) {
      body_pending_ = false;
      OnRequestComplete();
      return;
    }
    ReadSome([](Session& self) { self.ParseBody(); });
  }

  void OnRequestComplete() {
    Suspend();
    phase_ = Phase::kDispatched;
    request_.body = std::move(parser_->get().body());
    DispatchRequest();
  }

  void DispatchRequest() {
    if (internal_ != Internal::kNone) {
      DispatchInternal();
      return;
    }
    // Before dispatching: the response (and with it Upgrade()) may come before Dispatch returns.
    owner_.reset();
    if (plan_.route.kind == RouteKind::kObject) owner_ = pool_.RouteObject(plan_.address);
    // A Worker is stateless: the loop that read the request runs it.
    if (plan_.route.kind == RouteKind::kWorker) owner_ = loop_;
    // A forwarding node hears at once that this node works on the request, and then every
    // kForwardProgressEvery (net/forward_tunnel.h).
    const bool progress = forwarded_.has_value();
    server_.Dispatch(
        owner_, std::move(plan_), std::move(request_), std::move(protocol_fallback_),
        [self = shared_from_this(), seq = ++request_seq_](runtime::HttpResponseData response) {
          if (self->pool_.OnLoop(self->loop_)) {
            self->OnAnswer(seq, std::move(response));
            return;
          }
          asio::post(self->io_, [self, seq, response = std::move(response)]() mutable {
            self->OnAnswer(seq, std::move(response));
          });
        });
    if (progress) ArmProgress(/*first=*/true);
  }

  // An internal call, admitted and its body read (RPC) or streaming (fetch), as a call from an
  // object of this node: through the callee's loop queue (EnginePool::DispatchCall).
  void DispatchInternal() {
    if (internal_ == Internal::kSocket) {
      std::optional<PendingPeerSocket> socket = TakePeerSocket(internal_socket_);
      if (!socket) {
        Refuse(410,
               "This WebSocket came through a stub's fetch() too long ago (30 s) or was already "
               "returned in a Response.");
        return;
      }
      runtime::HttpResponseData answer;
      answer.status = 101;
      answer.web_socket_id = socket->socket_id;
      answer.web_socket_loop = static_cast<int>(socket->loop);
      answer.headers = std::move(socket->headers);
      OnAnswer(++request_seq_, std::move(answer));
      return;
    }
    if (internal_ == Internal::kStream) {
      ++request_seq_;
      if (upload_ == Upload::kNone) {
        // The whole body came with the head.
        if (!request_.body.empty()) {
          stream_channel_->Reserve(request_.body.size());
          stream_channel_->Push(std::move(request_.body));
        }
        if (stream_failure_) {
          stream_channel_->Finish(false, *std::exchange(stream_failure_, std::nullopt));
        } else {
          stream_channel_->Finish(true);
        }
        AnswerStream();
        return;
      }
      // The producing node waits for the answer as long as the stream flows: it hears that this
      // node lives, as a caller does.
      ArmProgress(/*first=*/true);
      return;
    }
    if (internal_ == Internal::kRpc && request_.body.size() > runtime::kMaxRpcMessageBytes) {
      Refuse(413, runtime::RpcTooLargeMessage(request_.body.size()));
      return;
    }
    runtime::RpcStreams streams;
    if (!internal_streams_.empty()) {
      // The arguments' streams: ReadableStreams meet their pushes, WritableStreams are pushed back.
      std::optional<std::string> addr = server_.cluster()->directory().AddressOf(forwarded_->node);
      if (!addr) {
        Refuse(503, runtime::kClusterUnavailableMessage);
        return;
      }
      streams = ReceivePeerStreams(io_, *server_.cluster(), forwarded_->node, *addr, PeerOptions(),
                                   internal_streams_);
      internal_streams_.clear();
    }
    const size_t loop = pool_.RouteObject(plan_.address);
    owner_ = loop;
    runtime::ResponseCallback respond = [self = shared_from_this(),
                                         seq = ++request_seq_](runtime::HttpResponseData response) {
      asio::post(self->io_, [self, seq, response = std::move(response)]() mutable {
        self->OnAnswer(seq, std::move(response));
      });
    };
    if (internal_ == Internal::kFetch) {
      pool_.DispatchCall(loop, plan_.address,
                         runtime::HttpEvent{std::move(request_), std::move(respond), true});
    } else {
      pool_.DispatchCall(loop, plan_.address,
                         runtime::RpcEvent{std::move(internal_method_), std::move(request_.body),
                                           std::move(respond), false, std::move(streams),
                                           /*charge=*/nullptr});
    }
    // Queued on the callee's loop (behind the calls queued before, which its object admits in
    // order): the first "102 Processing" tells the calling node so at once, and its next call to
    // this callee may leave (net/peer_call.h).
    ArmProgress(/*first=*/true);
  }

  // While an internal call waits for its callee: a "102 Processing" at once, then every
  // peer_progress_every, so that the calling node knows this one is alive however long the callee
  // takes; likewise, every kForwardProgressEvery, for a request another node forwarded (a
  // forwarding node that hears nothing for kForwardAnswerWait tells its client that the outcome
  // is unknown). An answer that comes while one is being written waits for it (Write).
  void ArmProgress(bool first) {
    if (!progress_timer_) progress_timer_.emplace(io_);
    const std::chrono::milliseconds every = internal_ != Internal::kNone
                                                ? server_.options().peer_progress_every
                                                : cluster::kForwardProgressEvery;
    progress_timer_->expires_after(first ? std::chrono::milliseconds(0) : every);
    progress_timer_->async_wait(
        [self = shared_from_this(), seq = request_seq_](beast::error_code ec) {
          if (ec || seq != self->request_seq_ || self->phase_ != Phase::kDispatched ||
              (self->internal_ == Internal::kNone && !self->forwarded_)) {
            return;
          }
          static constexpr char kProcessing[] = "HTTP/1.1 102 Processing\r\n\r\n";
          self->progress_writing_ = true;
          asio::async_write(self->socket_, asio::buffer(kProcessing, sizeof kProcessing - 1),
                            [self](beast::error_code ec, size_t) {
                              self->progress_writing_ = false;
                              std::optional<runtime::HttpResponseData> held =
                                  std::exchange(self->held_answer_, std::nullopt);
                              std::optional<runtime::HttpResponseData> probed =
                                  std::exchange(self->held_probe_, std::nullopt);
                              if (ec) {
                                if (held && held->body_stream) held->body_stream->Cancel();
                                if (held && held->web_socket_id != 0) {
                                  self->NotifySocketNeverConnected(*held);
                                }
                                self->Close();
                                return;
                              }
                              if (held) {
                                self->Write(std::move(*held));
                                return;
                              }
                              if (probed) {
                                self->OnProbed(std::move(*probed));
                                return;
                              }
                              self->ArmProgress(/*first=*/false);
                            });
        });
  }

  // The object's (or admin handler's) answer to request `seq`. Dropped when the server answered
  // that request itself meanwhile (its upload failed: 408, 413, 400).
  // `response` is taken by reference, as Write takes it: the answer is not copied again on its
  // way to the socket (a move of HttpResponseData costs about 180 instructions).
  void OnAnswer(uint64_t seq, runtime::HttpResponseData&& response) {
    if (seq != request_seq_ || server_answered_) {
      if (response.web_socket_id != 0) NotifySocketNeverConnected(response);
      if (response.body_stream) response.body_stream->Cancel();
      return;
    }
    const bool redirect = response.owned_elsewhere && forwarded_;
    // A client's request without a body, dispatched here because the directory named this node:
    // it goes on to the node that took the object meanwhile (ServeHere).
    if (response.owned_elsewhere && !forwarded_ && internal_ == Internal::kNone && !had_body_ &&
        server_.cluster() && !object_key_.empty()) {
      auto held = std::make_shared<runtime::HttpResponseData>(std::move(response));
      if (GoToOwner(held->owner_node,
                    [self = shared_from_this(), held] { self->Write(std::move(*held)); })) {
        return;
      }
      response = std::move(*held);
    }
    if (response.owned_elsewhere) {
      if (forwarded_) {
        // The forwarding node asked the wrong node: it retries at the owner named here.
        auto moved = Plain(cluster::kNotOwnerStatus, runtime::kOwnedElsewhereMessage);
        moved.headers.emplace_back(cluster::kOwnerHeader, response.owner_node);
        response = std::move(moved);
      } else if (server_.cluster() && !object_key_.empty()) {
        server_.cluster()->directory().Forget(object_key_);
      }
    }
    if ((internal_ == Internal::kRpc || internal_ == Internal::kFetch) && !redirect) {
      response = InternalAnswer(std::move(response));
    }
    Write(std::move(response));
  }

  // Answers a request the server refuses, and closes the connection afterwards. While a streamed
  // upload is read, the object's reader fails with the same message; once the response has
  // started, the connection just breaks.
  void Refuse(int status, const std::string& message) {
    if (upload_ == Upload::kReading || upload_ == Upload::kPaused) {
      runtime::ResponseStream::Failure failure;
      failure.name = "Error";
      failure.message = message;
      failure.client = true;
      FailUpload(std::move(failure));
    }
    if (phase_ == Phase::kWriting || phase_ == Phase::kStreaming || phase_ == Phase::kLinger ||
        phase_ == Phase::kClosed) {
      Close();
      return;
    }
    if (phase_ == Phase::kDispatched) server_answered_ = true;
    keep_alive_ = false;
    body_pending_ = true;  // what follows on the connection cannot be trusted: discard it
    Write(Plain(status, message));
  }

  // --- A streamed upload: the connection produces the body's chunks into upload_stream_, which
  // the object's request.body reads (thread_engine_stub_bodies.cc). Reading the socket pauses
  // while the object has not taken ResponseStream::kHighWater bytes, so a body costs at most
  // kUploadWindow bytes here, whatever its size; the body limit (413) is the parser's.
  void StartUpload() {
    if (!reservation_.GrowTo(kUploadWindow)) {
      RefuseOverBodyBudget();
      return;
    }
    upload_stream_ = internal_ == Internal::kStream ? stream_channel_
                                                    : std::make_shared<runtime::ResponseStream>();
    // Called on the object's thread when it has taken what was queued, or cancelled: only posts
    // to this connection's. Weak: the stream may outlive the session (the object holds it).
    std::weak_ptr<Session> weak = weak_from_this();
    asio::io_context* io = &io_;
    upload_stream_->SetProducerWake([weak, io] {
      asio::post(*io, [weak] {
        if (auto self = weak.lock()) self->OnUploadRoom();
      });
    });
    upload_ = Upload::kReading;
    request_.body_stream = upload_stream_;
    Disarm();
    phase_ = Phase::kDispatched;
    ArmUpload();
    DispatchRequest();
    PumpUpload();
  }

  // Passes what the parser has of the body to the object, then reads on (or pauses, or ends).
  void PumpUpload() {
    if (upload_ != Upload::kReading || upload_reading_ || phase_ == Phase::kClosed ||
        phase_ == Phase::kLinger) {
      return;
    }
    if (!Parse()) return;  // refused: Refuse() failed the upload
    std::string& parsed = parser_->get().body();
    bool more = true;
    if (!parsed.empty()) {
      std::string chunk = std::move(parsed);
      parsed.clear();
      more = upload_stream_->Reserve(chunk.size());
      upload_stream_->Push(std::move(chunk));
    }
    if (parser_->is_done()) {
      EndUpload();
      return;
    }
    if (upload_stream_->cancelled()) {
      AbandonUpload();
      return;
    }
    if (!more) {
      upload_ = Upload::kPaused;
      DisarmUpload();  // the object is slow, not the client
      return;
    }
    ReadUpload();
  }

  void ReadUpload() {
    size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) {
      OnParseError(http::error::buffer_overflow);
      return;
    }
    upload_reading_ = true;
    socket_.async_read_some(
        buffer_.prepare(std::min(room, kReadStep)),
        [self = shared_from_this()](beast::error_code ec, size_t n) {
          self->upload_reading_ = false;
          self->buffer_.commit(n);
          if (self->resume_after_read_) {
            // The response is done and the body whole: the next request may start.
            self->resume_after_read_ = false;
            if (self->phase_ != Phase::kClosed) self->StartRequest(/*first=*/false);
            return;
          }
          if (self->phase_ == Phase::kLinger) {
            // The connection closes: this read was the first of its discarding.
            self->lingered_ += n;
            if ((ec && ec != asio::error::operation_aborted) || self->lingered_ >= kLingerBytes) {
              self->Close();
              return;
            }
            self->Discard();
            return;
          }
          if (self->phase_ == Phase::kClosed || self->upload_ != Upload::kReading) return;
          if (ec) {
            // The client left (or reset) mid-body: the object's read fails as on workerd.
            self->FailUpload(runtime::ResponseStream::ConnectionLost());
            self->Close();
            return;
          }
          if (n > 0) self->ArmUpload();  // between bytes, as for a body read whole
          self->PumpUpload();
        });
  }

  // The object took enough of what was queued (or cancelled its body).
  void OnUploadRoom() {
    if (upload_ == Upload::kReading && internal_ == Internal::kStream &&
        upload_stream_->cancelled()) {
      // A stream's reader cancelled while this node waits for more of it: the push is answered
      // now, so that the producing node cancels its stream (it may never send more).
      AbandonUpload();
      return;
    }
    if (upload_ != Upload::kPaused) return;
    if (upload_stream_->cancelled()) {
      AbandonUpload();
      return;
    }
    upload_ = Upload::kReading;
    ArmUpload();
    PumpUpload();
  }

  void EndUpload() {
    if (stream_failure_) {
      // A stream's push whose last chunk says its stream failed.
      FailUpload(*std::exchange(stream_failure_, std::nullopt));
      return;
    }
    upload_ = Upload::kDone;
    upload_stream_->Finish(true);
    DisarmUpload();
    reservation_.Release();
    AnswerStream();
    // While the body was read, a response streaming out did not watch for the client leaving.
    if (phase_ == Phase::kStreaming) WatchPeer();
  }

  // The object will not read the rest; the connection closes after the response unless the rest
  // is already buffered (SettleUpload).
  void AbandonUpload() {
    upload_ = Upload::kAbandoned;
    upload_stream_->Cancel();
    DisarmUpload();
    reservation_.Release();
    AnswerStream();
  }

  void FailUpload(runtime::ResponseStream::Failure failure) {
    upload_ = Upload::kFailed;
    upload_stream_->Finish(false, std::move(failure));
    DisarmUpload();
    reservation_.Release();
    AnswerStream();
  }

  bool UploadUnfinished() const {
    return upload_ == Upload::kReading || upload_ == Upload::kPaused ||
           upload_ == Upload::kAbandoned;
  }

  // A response is about to go out (or has ended) while the upload is unfinished. Unless the object
  // may still read it (a response streaming out), the rest of the body goes: parsed and dropped if
  // it is all buffered already, so that the connection goes on; otherwise the connection closes
  // after the response, as workerd's does ("Connection: close").
  void SettleUpload(bool object_may_read) {
    if (!UploadUnfinished()) return;
    if (object_may_read && upload_ != Upload::kAbandoned && !upload_stream_->cancelled()) return;
    if (upload_ != Upload::kAbandoned) AbandonUpload();
    if (!DropBufferedBody()) {
      keep_alive_ = false;
      body_pending_ = true;
    }
  }

  // Parses the buffered bytes of an abandoned body and drops them; true if the body ended there.
  bool DropBufferedBody() {
    try {
      while (buffer_.size() > 0 && !parser_->is_done()) {
        beast::error_code ec;
        size_t used = parser_->put(buffer_.data(), ec);
        buffer_.consume(used);
        parser_->get().body().clear();
        if (ec == http::error::need_more) break;
        if (ec || used == 0) return false;
      }
    } catch (const std::exception&) {
      return false;
    }
    parser_->get().body().clear();
    if (!parser_->is_done()) return false;
    upload_ = Upload::kDone;
    return true;
  }

  void ArmUpload() {
    if (internal_ == Internal::kStream) return;  // see AdmitStream
    upload_timer_.Arm(server_.options().body_timeout, shared_from_this(),
                      [this] { OnUploadTimeout(); });
  }
  void DisarmUpload() { upload_timer_.Disarm(); }

  // No byte of the body for body_timeout while the object waited for it.
  void OnUploadTimeout() {
    if (upload_ != Upload::kReading) return;
    if (upload_stream_->cancelled()) {
      AbandonUpload();
      return;
    }
    if (phase_ == Phase::kDispatched) {
      // Only the upload's read is pending (no response yet): it sees the upload failed and stops.
      beast::error_code ignored;
      socket_.cancel(ignored);
    }
    Refuse(408, "The request body did not arrive in time.");
  }

  // --- Writing.
  // Writes into write_head_ the head for `data` and moves its body into write_body_ (emptied for
  // a HEAD request, whose head keeps the body's length). A status that has no body (1xx, 204,
  // 304) gets no Content-Length: RFC 9110 forbids it on 1xx and 204, and on a 304 it would
  // claim the representation is empty (workerd sends none either). False (with `problem` set)
  // when it cannot be sent as HTTP/1.1.
  bool BuildResponse(runtime::HttpResponseData& data, bool keep, std::string* problem) {
    write_head_.clear();
    const BodyFraming framing =
        StatusForbidsBody(data.status) ? BodyFraming::kNone : BodyFraming::kContentLength;
    if (auto bad = AppendResponseHead(data.status, data.status_text, data.headers, keep, framing,
                                      data.body.size(), &write_head_)) {
      *problem = std::move(*bad);
      return false;
    }
    if (!data.body.empty() && StatusForbidsBody(data.status)) {
      *problem = "the response cannot be sent as HTTP/1.1: invalid response body";
      return false;
    }
    write_body_ = std::move(data.body);
    if (head_) write_body_.clear();
    return true;
  }

  // After a response's write: an idle connection keeps no buffer (as with the read buffer).
  void ReleaseWriteBuffers() {
    write_head_ = std::string();
    write_body_ = std::string();
  }

  void Write(runtime::HttpResponseData&& data) {
    if (phase_ == Phase::kClosed) {
      if (data.web_socket_id != 0) NotifySocketNeverConnected(data);
      if (data.body_stream) data.body_stream->Cancel();  // the client is gone: stop producing
      return;
    }
    if (progress_writing_) {
      held_answer_ = std::move(data);  // written once the interim answer is out (ArmProgress)
      return;
    }
    if (progress_timer_) progress_timer_->cancel();
    SettleUpload(/*object_may_read=*/data.body_stream != nullptr);
    if (data.body_stream && data.status == 101) {
      // An admin answer to an upgrade: its event stream goes out as WebSocket messages.
      if (upgrade_request_ && plan_.route.kind == RouteKind::kAdmin && !server_.draining()) {
        UpgradeToEvents(std::move(data));
        return;
      }
      data.body_stream->Cancel();
      data = upgrade_request_ ? Plain(503, "The server is shutting down.")
                              : Plain(400,
                                      "The request is not a WebSocket upgrade (it needs "
                                      "Connection: Upgrade and Upgrade: websocket).");
      keep_alive_ = false;
    }
    if (data.body_stream) {
      WriteStreamed(std::move(data));
      return;
    }
    if (data.remote_web_socket) {
      if (upgrade_request_ && data.status == 101 && !server_.draining() && server_.cluster()) {
        ForwardToSocket(*data.remote_web_socket);
        return;
      }
      data = upgrade_request_ ? Plain(503, "The server is shutting down.")
                              : Plain(500,
                                      "The Durable Object answered with a WebSocket (status 101) "
                                      "a request that is not a WebSocket upgrade.");
      keep_alive_ = false;
    }
    if (data.web_socket_id != 0) {
      if (upgrade_request_ && data.status == 101 && !server_.draining()) {
        Upgrade(std::move(data));
        return;
      }
      // Nobody will connect to the socket the object made: let it hear of that.
      NotifySocketNeverConnected(data);
      if (!upgrade_request_) {
        data = Plain(500,
                     "The Durable Object answered with a WebSocket (status 101) a request that "
                     "is not a WebSocket upgrade.");
      } else {
        data = Plain(503, "The server is shutting down.");
      }
      keep_alive_ = false;
    }
    bool keep = keep_alive_ && !server_.draining();
    std::string problem;
    if (!BuildResponse(data, keep, &problem)) {
      ResponseHeadLog().Note("[" + where_ + "] response replaced by a 500: " + problem);
      runtime::HttpResponseData error =
          Plain(500, "The Durable Object's response cannot be sent: " + problem + ".");
      if (!BuildResponse(error, keep, &problem)) {
        Close();
        return;
      }
    }
    phase_ = Phase::kWriting;
    Arm(server_.options().body_timeout);
    // Head and body in one gathered write; both stay in this session until it ends.
    const std::array<asio::const_buffer, 2> buffers = {asio::buffer(write_head_),
                                                       asio::buffer(write_body_)};
    asio::async_write(socket_, buffers,
                      [self = shared_from_this(), keep](beast::error_code ec, size_t) {
                        self->ReleaseWriteBuffers();
                        self->reservation_.Release();
                        if (ec) {
                          self->Close();
                          return;
                        }
                        self->FinishResponse(keep);
                      });
  }

  // --- Writing a body that streams: the head first, then each chunk as the object produces it
  // (chunked, or raw under the Content-Length the application gave), each write waiting for the
  // previous one, so that a client that reads slowly slows the object's stream (ResponseStream's
  // backpressure). A body that fails, or gives other than its Content-Length, breaks the
  // connection without a proper end, as workerd's do.
  void WriteStreamed(runtime::HttpResponseData data) {
    stream_ = std::move(data.body_stream);
    std::optional<uint64_t> length;
    for (const auto& [name, value] : data.headers) {
      if (!beast::iequals(name, "content-length")) continue;
      uint64_t parsed = 0;
      bool digits = !value.empty() && value.size() <= 18;
      for (char c : value) {
        if (c < '0' || c > '9') digits = false;
        parsed = parsed * 10 + static_cast<uint64_t>(c - '0');
      }
      if (digits) length = parsed;
    }
    const bool no_body = data.status < 200 || data.status == 204 || data.status == 304;
    // An HTTP/1.0 client knows no chunks: a body of unknown length ends with the connection.
    const bool close_delimited = http10_ && !length && !no_body && !head_;
    const bool keep = keep_alive_ && !server_.draining() && !close_delimited;
    if (data.status < 0 || data.status > 999) {
      stream_->Cancel();
      stream_.reset();
      Write(Plain(500, "The Durable Object's response cannot be sent: invalid status-code"));
      return;
    }
    const BodyFraming framing = (no_body || close_delimited) ? BodyFraming::kNone
                                : length                     ? BodyFraming::kContentLength
                                                             : BodyFraming::kChunked;
    write_head_.clear();
    if (auto problem = AppendResponseHead(data.status, data.status_text, data.headers, keep,
                                          framing, length.value_or(0), &write_head_)) {
      stream_->Cancel();
      stream_.reset();
      ResponseHeadLog().Note("[" + where_ + "] response replaced by a 500: " + *problem);
      Write(Plain(500, "The Durable Object's response cannot be sent: " + *problem + "."));
      return;
    }
    chunked_ = !length && !close_delimited;
    close_delimited_ = close_delimited;
    remaining_ = length.value_or(0);
    if (no_body || head_) {
      // Nothing of the body is sent: its producer stops now.
      stream_->Cancel();
      stream_.reset();
    }
    phase_ = Phase::kWriting;
    Arm(server_.options().body_timeout);
    asio::async_write(socket_, asio::buffer(write_head_),
                      [self = shared_from_this(), keep](beast::error_code ec, size_t) {
                        self->ReleaseWriteBuffers();
                        self->reservation_.Release();
                        if (ec) {
                          self->Close();
                          return;
                        }
                        if (!self->stream_) {
                          self->FinishResponse(keep);
                          return;
                        }
                        self->stream_keep_ = keep;
                        self->phase_ = Phase::kStreaming;
                        self->Disarm();
                        // Called on the object's thread: only posts to this connection's. It holds
                        // the session (nothing else may while the object produces nothing); the end
                        // of the body, or Close(), lets go of it.
                        self->stream_->SetConsumerWake([session = self] {
                          asio::post(session->io_, [session] { session->PumpStream(); });
                        });
                        // While an upload is read, its reads notice the client leaving (EndUpload
                        // watches then).
                        if (!self->UploadUnfinished() && !self->upload_reading_) self->WatchPeer();
                        self->PumpStream();
                      });
  }

  // Writes what the stream has queued, or its end; when it has nothing, its consumer wake-up
  // calls this again.
  void PumpStream() {
    if (phase_ != Phase::kStreaming || writing_chunk_ || !stream_) return;
    runtime::ResponseStream::Taken taken = stream_->Take();
    if (!taken.bytes.empty()) {
      const size_t n = taken.bytes.size();
      auto out = std::make_shared<std::string>();
      bool overrun = false;
      if (chunked_) {
        char size[20];
        int len = std::snprintf(size, sizeof size, "%zx\r\n", n);
        out->reserve(static_cast<size_t>(len) + n + 2);
        out->append(size, static_cast<size_t>(len));
        out->append(taken.bytes);
        out->append("\r\n");
      } else if (close_delimited_) {
        *out = std::move(taken.bytes);
      } else {
        // More than the Content-Length promised: what fits goes, then the connection breaks.
        overrun = n > remaining_;
        *out = std::move(taken.bytes);
        if (overrun) out->resize(remaining_);
        remaining_ -= out->size();
      }
      writing_chunk_ = true;
      Arm(server_.options().body_timeout);
      asio::async_write(socket_, asio::buffer(*out),
                        [self = shared_from_this(), out, n, overrun](beast::error_code ec, size_t) {
                          self->writing_chunk_ = false;
                          if (self->phase_ != Phase::kStreaming) return;
                          if (ec || overrun) {
                            self->BreakStream();
                            return;
                          }
                          self->Disarm();
                          self->stream_->Consumed(n);
                          self->PumpStream();
                        });
      return;
    }
    if (taken.failed || (taken.ended && !chunked_ && !close_delimited_ && remaining_ != 0)) {
      BreakStream();
      return;
    }
    if (!taken.ended) return;  // the wake-up comes with the next chunk
    stream_->SetConsumerWake(nullptr);
    stream_.reset();
    phase_ = Phase::kWriting;
    if (!chunked_) {
      FinishResponse(stream_keep_);
      return;
    }
    static constexpr char kLastChunk[] = "0\r\n\r\n";
    Arm(server_.options().body_timeout);
    asio::async_write(socket_, asio::buffer(kLastChunk, sizeof kLastChunk - 1),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) {
                          self->Close();
                          return;
                        }
                        self->FinishResponse(self->stream_keep_);
                      });
  }

  // While the body streams nothing is read from the client: this notices it leaving (a read
  // would see the end of the stream) so that the object stops producing for nobody, even while
  // it produces nothing.
  void WatchPeer() {
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (self->phase_ != Phase::kStreaming) return;
      if (ec) {
        self->BreakStream();
        return;
      }
      char byte;
      ssize_t n = ::recv(self->socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        self->BreakStream();
        return;
      }
      // Nothing yet, or the client's next request (read once this response is done).
      if (n < 0) self->WatchPeer();
    });
  }

  // The body failed or the client left: the connection ends without the body's proper end.
  void BreakStream() {
    keep_alive_ = false;
    Close();
  }

  // The response is written: the connection goes on to the next request, or ends.
  void FinishResponse(bool keep) {
    if (UploadUnfinished()) {
      SettleUpload(/*object_may_read=*/false);
      keep = keep && keep_alive_;
    }
    if (keep && upload_reading_) {
      // The body ended in the buffer while a read of it was pending: the next request starts once
      // that read returns, cancelled now (no write is pending).
      resume_after_read_ = true;
      beast::error_code ignored;
      socket_.cancel(ignored);
      return;
    }
    if (!keep) {
      if (body_pending_) {
        Linger();
      } else {
        Close();
      }
      return;
    }
    StartRequest(/*first=*/false);
  }

  // The loop whose engine owns the socket of `data`: the one that answered, unless the socket
  // came through a stub's fetch() from an object on another loop.
  std::optional<size_t> SocketOwner(const runtime::HttpResponseData& data) const {
    if (data.web_socket_loop >= 0) return static_cast<size_t>(data.web_socket_loop);
    return owner_;
  }

  void NotifySocketNeverConnected(const runtime::HttpResponseData& data) {
    std::optional<size_t> socket_owner = SocketOwner(data);
    if (!socket_owner) return;
    runtime::EnginePool& pool = pool_;
    size_t owner = *socket_owner;
    uint64_t id = data.web_socket_id;
    asio::post(pool.io(owner), [&pool, owner, id] {
      if (runtime::ThreadEngine* engine = pool.engine(owner)) {
        engine->OnWebSocketClosed(id, 1006, "", false);
      }
    });
  }

  // Completes a WebSocket upgrade: the connection moves to the loop that owns the object whose
  // socket it is, which answers the handshake and attaches the connection to the socket.
  void Upgrade(runtime::HttpResponseData data) {
    Disarm();
    phase_ = Phase::kClosed;
    runtime::EnginePool& pool = pool_;
    // Set: only a request to an object or a Worker is an upgrade.
    size_t owner = *SocketOwner(data);
    uint64_t id = data.web_socket_id;
    auto request = std::make_shared<http::request<http::string_body>>(std::move(*upgrade_request_));
    auto headers = std::make_shared<runtime::HeaderList>(std::move(data.headers));
    const WebSocketOptions& options = server_.options().web_socket;
    if (owner == loop_) {
      std::make_shared<WebSocketConnection>(std::move(socket_), pool.engine(owner), id, options)
          ->Start(std::move(*request), *headers);
      return;
    }
    beast::error_code ec;
    auto protocol = socket_.local_endpoint(ec).protocol();
    int fd = socket_.release(ec);
    if (ec) {
      Close();
      NotifySocketNeverConnected(data);
      return;
    }
    asio::post(pool.io(owner), [&pool, owner, id, protocol, fd, request, headers, &options] {
      tcp::socket socket(pool.io(owner), protocol, fd);
      runtime::ThreadEngine* engine = pool.engine(owner);
      if (!engine) return;
      std::make_shared<WebSocketConnection>(std::move(socket), engine, id, options)
          ->Start(std::move(*request), *headers);
    });
  }

  // Completes an upgrade whose socket another node keeps (a 101 through a stub's fetch() from an
  // object there): the client's upgrade request goes to that node, which attaches the connection
  // to the socket, through a tunnel that relays the handshake and the frames (net/peer_sockets.h).
  void ForwardToSocket(const runtime::RemoteWebSocket& remote) {
    ForwardJob job;
    job.method = "GET";
    job.target = std::string(kInternalSocketTarget) + "?" + remote.token;
    job.version = 11;
    job.upgrade = true;
    for (const auto& field : *upgrade_request_) {
      const auto name = field.name_string();
      if (beast::iequals(name, "connection") || beast::iequals(name, "keep-alive") ||
          beast::iequals(name, "proxy-connection") || beast::iequals(name, "te") ||
          beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
          beast::iequals(name, "expect") || IsServerHeaderName(name)) {
        continue;
      }
      job.fields.append(name.data(), name.size());
      job.fields += ": ";
      job.fields.append(field.value().data(), field.value().size());
      job.fields += "\r\n";
    }
    beast::error_code ec;
    tcp::endpoint peer = socket_.remote_endpoint(ec);
    if (!ec) job.client_address = peer.address().to_string();
    job.node = remote.node;
    job.addr = remote.addr;
    std::string pending = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    phase_ = Phase::kClosed;
    Disarm();
    reservation_.Release();
    upgrade_request_.reset();
    // An upgrade: the connection never comes back.
    StartForwardTunnel(io_, std::move(socket_), std::move(pending), std::move(job),
                       *server_.cluster(), accounts_, nullptr);
  }

  // Completes an admin upgrade on this loop: the connection becomes an EventWebSocket sending the
  // answer's event stream.
  void UpgradeToEvents(runtime::HttpResponseData data) {
    Disarm();
    phase_ = Phase::kClosed;
    reservation_.Release();
    std::make_shared<EventWebSocket>(std::move(socket_), std::move(data.body_stream),
                                     server_.options().web_socket.handshake_timeout)
        ->Start(std::move(*upgrade_request_));
    upgrade_request_.reset();
  }

  // Stops sending, then discards what the client still sends (bounded in time and bytes) before
  // closing, so that the answer already written is not lost to a reset.
  void Linger() {
    phase_ = Phase::kLinger;
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    Arm(kLingerTime);
    lingered_ = 0;
    // A read of an upload still pending becomes the first discarding read (ReadUpload).
    if (!upload_reading_) Discard();
  }
  void Discard() {
    buffer_.clear();
    socket_.async_read_some(
        buffer_.prepare(std::min(buffer_.max_size(), kReadStep)),
        [self = shared_from_this()](beast::error_code ec, size_t n) {
          self->lingered_ += n;
          if (ec || self->lingered_ >= kLingerBytes || self->phase_ != Phase::kLinger) {
            self->Close();
            return;
          }
          self->Discard();
        });
  }

  void Close() {
    if (stream_) {
      // Whatever the body still had to give goes nowhere: its producer stops (and the stream lets
      // go of this session).
      stream_->Cancel();
      stream_.reset();
    }
    if (upload_ == Upload::kReading || upload_ == Upload::kPaused)
      FailUpload(runtime::ResponseStream::ConnectionLost());
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    Disarm();
    DisarmUpload();
    reservation_.Release();
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  HttpServer& server_;
  runtime::EnginePool& pool_;
  size_t loop_;  // the pool's loop this connection runs on
  asio::io_context& io_;
  ExpiryTimer timer_;
  ExpiryTimer upload_timer_;  // the body timeout of a streamed upload
  RequestLimits limits_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  // Before reservation_, which gives its bytes back to accounts_ when destroyed.
  std::shared_ptr<HttpServer::ConnectionAccounts> accounts_;
  BodyReservation reservation_;
  Phase phase_ = Phase::kIdle;
  bool keep_alive_ = true;
  bool head_ = false;
  bool http10_ = false;        // the request is HTTP/1.0
  bool body_pending_ = false;  // the request's body (or what follows it) was not read
  bool had_body_ = false;      // the request announced a body
  bool parsing_body_ = false;  // the parser is past the head (it may go on into the body)
  // The streamed upload of the current request (see StartUpload).
  Upload upload_ = Upload::kNone;
  std::shared_ptr<runtime::ResponseStream> upload_stream_;
  bool upload_reading_ = false;     // a read for the upload is pending
  bool resume_after_read_ = false;  // that read, once back, starts the next request
  // Dispatched requests, counted, so that an answer to one the server already answered (or to an
  // earlier one) is dropped; server_answered_: the server answered the current one itself.
  uint64_t request_seq_ = 0;
  bool server_answered_ = false;
  size_t lingered_ = 0;
  std::string host_;
  std::string target_;
  std::string where_;  // the request's object (or path), for log lines
  HttpServer::Plan plan_;
  runtime::HttpRequestData request_;
  std::string protocol_fallback_;
  std::optional<size_t> owner_;  // the loop of the request's object, once routed
  std::optional<http::request<http::string_body>> upgrade_request_;
  // Cluster mode: the facts of a request another node forwarded (its signature checked), the
  // request's object key once placed, and the placement asked for (a stale answer is dropped).
  std::optional<cluster::ForwardFacts> forwarded_;
  std::string object_key_;
  uint64_t place_seq_ = 0;
  // An internal call from another node (AdmitInternal), its RPC method and its arguments'
  // streams; or the push of a stream's bytes (AdmitStream): the channel its body goes to, the
  // failure its last chunk carried, and the parser's hook that reads it.
  // kSocket: a client's connection to attach to a socket kept here (net/peer_sockets.h).
  enum class Internal { kNone, kRpc, kFetch, kStream, kSocket };
  Internal internal_ = Internal::kNone;
  std::string internal_method_;
  std::string internal_socket_;  // kSocket: its token
  std::vector<PeerStreamRef> internal_streams_;
  std::shared_ptr<runtime::ResponseStream> stream_channel_;
  std::optional<runtime::ResponseStream::Failure> stream_failure_;
  bool stream_answered_ = false;
  std::function<void(std::uint64_t, beast::string_view, beast::error_code&)> on_chunk_header_;
  // Its interim answers (ArmProgress), and the answer that waits for one being written.
  std::optional<asio::steady_timer> progress_timer_;
  bool progress_writing_ = false;
  std::optional<runtime::HttpResponseData> held_answer_;
  // The ownership probe's answer (ServeHere), come while a "102 Processing" was being written.
  std::optional<runtime::HttpResponseData> held_probe_;
  // The body of the response being written, while it streams (see WriteStreamed).
  std::shared_ptr<runtime::ResponseStream> stream_;
  bool chunked_ = false;          // framed as chunks; else raw under a Content-Length
  uint64_t remaining_ = 0;        // bytes the Content-Length still promises
  bool close_delimited_ = false;  // HTTP/1.0, no Content-Length: the body ends with the connection
  bool writing_chunk_ = false;
  bool stream_keep_ = false;  // the connection goes on once the body has ended
  // The response being written, its head and its whole body; both empty between responses.
  std::string write_head_;
  std::string write_body_;
};

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, runtime::EnginePool& pool, AdminHandler admin)
    : options_(std::move(options)),
      pool_(pool),
      admin_(std::move(admin)),
      accounts_(std::make_shared<ConnectionAccounts>(options_.max_buffered_body_bytes)) {}

HttpServer::~HttpServer() { StopAccepting(); }

int HttpServer::BindListener(const std::string& host, unsigned short port) {
  asio::io_context io;
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error(ec.message());
  tcp::endpoint endpoint(address, port);
  tcp::acceptor acceptor(io);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(ec.message());
  int fd = acceptor.release();
  // Not inherited by the processes the server starts (esbuild for deploys).
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

unsigned short HttpServer::Start() {
  // One listening socket, served by a thread of its own that never runs JavaScript: an event loop
  // running a tenant's long turn cannot accept, and a connection it had accepted would wait for
  // the turn to end.
  int fd =
      options_.listen_fd >= 0 ? options_.listen_fd : BindListener(options_.host, options_.port);
  options_.listen_fd = -1;
  acceptor_.emplace(accept_io_);
  beast::error_code ec;
  sockaddr_storage bound{};
  socklen_t bound_size = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_size) != 0) {
    ::close(fd);
    throw std::runtime_error("the listening socket is not usable");
  }
  acceptor_->assign(bound.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    throw std::runtime_error(ec.message());
  }
  unsigned short port = acceptor_->local_endpoint().port();
  bound_port_ = port;
  accept_retry_.emplace(accept_io_);
  Accept();
  accept_thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(accept_io_);
    accept_io_.run();
  });
  return port;
}

namespace {

RateLimitedLog& AcceptLog() {
  static RateLimitedLog log(LogLevel::kWarn, std::chrono::seconds(10));
  return log;
}

RateLimitedLog& RefusedLog() {
  static RateLimitedLog log(LogLevel::kWarn, std::chrono::seconds(10));
  return log;
}

}  // namespace

void HttpServer::Accept() {
  acceptor_->async_accept(accept_io_, [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
      OnAcceptError(ec);
      return;
    }
    size_t open = accounts_->http_connections.load() + WebSocketConnection::LiveCount();
    if (options_.max_connections > 0 && open >= options_.max_connections) {
      RefusedLog().Note("connection refused: " + std::to_string(open) +
                        " connections open, the limit is " +
                        std::to_string(options_.max_connections));
      RefuseConnection(socket.native_handle());
    } else {
      HandOff(std::move(socket));
    }
    if (acceptor_->is_open()) Accept();
  });
}

void HttpServer::HandOff(tcp::socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) return;  // the peer is gone already; the socket closes here
  // Round robin over the loops, passing over those busy with a long turn.
  const size_t target = pool_.LoopNotBusyFrom(next_loop_);
  next_loop_ = (target + 1) % pool_.size();
  int fd = socket.release(ec);
  if (ec) return;
  // Counted now, not when the loop makes the session: a burst of connections accepted before
  // the loops get to them must meet the connection limit all the same.
  ++accounts_->http_connections;
  asio::post(pool_.io(target), [this, target, protocol, fd] {
    tcp::socket moved(pool_.io(target), protocol, fd);
    std::make_shared<Session>(std::move(moved), *this, target)->Start();
  });
}

void HttpServer::OnAcceptError(const boost::system::error_code& ec) {
  // Out of descriptors (or kernel memory) the pending connection stays queued and accepting again
  // at once would fail again at once: wait before retrying, and log one line per interval.
  bool exhausted = ec == asio::error::no_descriptors || ec.value() == ENFILE ||
                   ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
  auto wait = exhausted ? std::chrono::milliseconds(100) : std::chrono::milliseconds(10);
  AcceptLog().Note("accept failed: " + ec.message() + "; retrying in " +
                   std::to_string(wait.count()) + " ms");
  accept_retry_->expires_after(wait);
  accept_retry_->async_wait([this](beast::error_code timer_ec) {
    if (timer_ec || !acceptor_->is_open()) return;
    Accept();
  });
}

void HttpServer::RefuseConnection(int fd) {
  // Written without waiting: the socket's send buffer is empty, so the whole answer fits; a
  // client that is gone is no concern.
  static const std::string kAnswer = [] {
    std::string body = "{\"error\":\"The server has too many open connections; retry later.\"}";
    return "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
           "retry-after: 1\r\nconnection: close\r\ncontent-length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  ssize_t ignored = ::send(fd, kAnswer.data(), kAnswer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)ignored;
  ::shutdown(fd, SHUT_WR);
  // The socket object closes the descriptor when it goes out of scope.
}

HttpServer::Plan HttpServer::PlanRequest(const std::string& target, const std::string& host) {
  Plan plan;
  plan.route = RouteTarget(target);
  if (plan.route.kind != RouteKind::kObject && !plan.route.outside_objects) return plan;
  const runtime::ClassCatalog& catalog = pool_.shared().catalog;
  plan.address.app = AppFromHost(
      host, [&catalog](const std::string& name) { return catalog.Get(name) != nullptr; });
  if (plan.route.kind != RouteKind::kObject) {
    std::shared_ptr<const runtime::AppCode> code = catalog.Get(plan.address.app);
    if (code && code->HasWorker()) plan.route.kind = RouteKind::kWorker;
    return plan;
  }
  plan.address.class_name = plan.route.class_name;
  // A class renamed by a migration keeps its objects under its first name (see DeployedClass).
  if (std::shared_ptr<const runtime::AppCode> code = catalog.Get(plan.address.app)) {
    if (const runtime::DeployedClass* deployed = code->FindByUrlName(plan.route.class_name)) {
      plan.address.class_name = deployed->name;
    } else if (code->Find(plan.route.class_name)) {
      plan.address.class_name = std::string();  // a storage name that is no URL name: not found
    }
  }
  plan.address.instance_name = plan.route.instance_id;
  runtime::CompleteAddress(plan.address);
  return plan;
}

namespace {

// The 503 for a request to an app that is suspended (runtime::AppQuarantine), if it is.
std::optional<runtime::HttpResponseData> SuspendedAnswer(const runtime::RuntimeShared& runtime,
                                                         const std::string& app) {
  if (runtime.quarantine.empty()) return std::nullopt;
  const int64_t now_ms = runtime::AppQuarantine::NowMs();
  int64_t until = runtime.quarantine.Until(app, now_ms);
  if (!until) return std::nullopt;
  runtime::HttpResponseData suspended = runtime::HttpResponseData::JsonError(
      503, runtime::AppQuarantine::Message(app, until, now_ms));
  suspended.headers.emplace_back(
      "retry-after", std::to_string(runtime::AppQuarantine::SecondsLeft(until, now_ms)));
  return suspended;
}

}  // namespace

std::optional<runtime::HttpResponseData> HttpServer::Admit(const Plan& plan,
                                                           runtime::HttpRequestData& request,
                                                           const std::string& target,
                                                           const std::string& host,
                                                           std::string* protocol_fallback) {
  protocol_fallback->clear();
  switch (plan.route.kind) {
    case RouteKind::kAdmin:
      request.url = target;
      if (admin_gate_) return admin_gate_(request);
      return std::nullopt;
    case RouteKind::kBadRequest:
      return Plain(400, plan.route.error);
    case RouteKind::kNotFound:
      return Plain(404, plan.route.error);
    case RouteKind::kObject:
    case RouteKind::kWorker:
      break;
  }
  const runtime::RuntimeShared& runtime = pool_.shared();
  if (plan.route.kind == RouteKind::kWorker) {
    request.url = "http://" + (host.empty() ? std::string("localhost") : host) + target;
    AttachWorkerCredential(authorizer_, plan.address.app, request);
    return SuspendedAnswer(runtime, plan.address.app);
  }
  std::shared_ptr<const runtime::AppCode> code = runtime.catalog.Get(plan.address.app);
  if (!code || plan.address.class_name.empty() || !code->Find(plan.address.class_name)) {
    // As the runtime would answer, but before the body is read.
    return Plain(404, "No Durable Object class named '" + plan.route.class_name + "' in app '" +
                          plan.address.app + "'.");
  }
  request.url = "http://" + (host.empty() ? std::string("localhost") : host) + plan.route.forwarded;
  if (auto refused = CheckObjectAccess(runtime.catalog, authorizer_, plan.address.app,
                                       plan.address.class_name, request, protocol_fallback)) {
    return refused;
  }
  if (auto suspended = SuspendedAnswer(runtime, plan.address.app)) return suspended;
  size_t q = target.find('?');
  request.headers.emplace_back("x-dorm-original-path", target.substr(0, q));
  return std::nullopt;
}

void HttpServer::Dispatch(std::optional<size_t> owner, Plan plan, runtime::HttpRequestData request,
                          std::string protocol_fallback,
                          std::function<void(runtime::HttpResponseData)> respond) {
  if (plan.route.kind == RouteKind::kAdmin) {
    admin_(plan.route.admin_path, std::move(request), std::move(respond));
    return;
  }
  if (plan.route.kind == RouteKind::kWorker) {
    pool_.DispatchWorkerFetch(*owner, std::move(plan.address.app), std::move(request),
                              std::move(respond));
    return;
  }
  if (protocol_fallback.empty()) {
    // Nothing to add to the answer: no layer of its own (each costs an allocation and two moves
    // of the answer).
    pool_.DispatchFetch(*owner, std::move(plan.address), std::move(request), std::move(respond));
    return;
  }
  pool_.DispatchFetch(
      *owner, std::move(plan.address), std::move(request),
      [respond = std::move(respond),
       protocol_fallback = std::move(protocol_fallback)](runtime::HttpResponseData response) {
        ApplyProtocolFallback(protocol_fallback, response);
        respond(std::move(response));
      });
}

void HttpServer::StopAccepting() {
  draining_ = true;
  // No new connections: the accept thread ends once its acceptor is closed. Connections it handed
  // off already are the loops' own.
  accept_io_.stop();
  if (accept_thread_.joinable()) accept_thread_.join();
  beast::error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
}

void HttpServer::WaitForWebSocketsToClose(std::chrono::steady_clock::time_point deadline) {
  while (WebSocketConnection::LiveCount() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace dorm::net
