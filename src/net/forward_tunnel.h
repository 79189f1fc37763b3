// A client's request for an object another node of the cluster serves, passed to that node: the
// connection's socket is handed over once the request head is read, the head goes to the owner
// with the forwarding headers (cluster/forward_auth.h), and from then on bytes pass both ways as
// they come (the request body, the response, and after a 101 the WebSocket's frames), 64 KiB at
// most per direction in flight, never the whole body.
//
// Connections are kept: the request goes on an idle kept-alive connection to the owner if this
// loop has one (net/peer_connections.h: idle ones are closed after ForwardJob::idle_timeout,
// well below the owners' keep-alive timeout, and one the owner closed or wrote to meanwhile is
// never handed out). The response's framing is parsed as it passes (Beast's parser), and so is
// the request body's (its Content-Length, or its chunks, through a parser of their own); once
// both have ended cleanly, the connection to the owner goes back to the pool, and the client's
// connection goes on with its next request (`resume`, with the bytes already read of it) if the
// client and the owner both keep it. An HTTP/1.0 request, a WebSocket upgrade, a chunked body
// that cannot be parsed, or a response that does not end cleanly closes the connections
// afterwards.
//
// A request with a body (HTTP/1.1) is sent with `Expect: 100-continue`, and its body only once
// the owner answers "100 Continue", which it does only after making sure it owns the object.
//
// The replay rule: a request is sent again (to the owner named, or on a new connection) only
// when it provably never reached the object:
//   (a) the owner answered "not owner" (421 with x-dorm-owner, which it sends only for a request
//       its object never saw) and none of the body was sent to it: the request goes to the owner
//       it names, looked up first if this node has not seen it live yet
//       (ClusterDirectory::Resolve; a request whose body went, or an owner without a live lease,
//       gets 503 "moved", to retry);
//   (b) the connection failed before the request's head was all written: the owner dispatches
//       nothing before it has a whole head. On a kept connection the request goes again on a
//       new one; a new connection that fails so gives 503 "not available", to retry.
// Anything else (an end of stream or a reset after the head was written, or an owner silent for
// cluster::kForwardAnswerWait before its final answer head) gives the client 503 saying that the
// outcome is unknown: the owner may have run the request, its commit durable before any other
// node took the object. The owner answers "102 Processing" as it begins with a forwarded
// request (for one with a body, as it begins taking the object, before its "100 Continue") and
// then every cluster::kForwardProgressEvery (not relayed), so that only a paused or cut-off
// owner is silent that long, however long it takes to restore the object. The directory forgets the
// object after any failure.
//
// The owner itself never forwards a forwarded request further, and a request makes at most
// cluster::kMaxForwardHops hops, so requests cannot loop.
//
// Threading: lives on the loop of the client's socket; holds itself alive through its pending
// operations. Nothing blocks: connecting, writing and reading are asynchronous.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cluster/cluster_node.h"
#include "net/http_server.h"

namespace dorm::net {

struct ForwardJob {
  std::string object;     // the object's key, as the directory knows it (empty: none)
  std::string method;     // as the client sent it
  std::string target;     // as the client sent it
  unsigned version = 11;  // the client's HTTP version (10 or 11)
  std::string fields;     // the client's header lines ("name: value\r\n"), hop-by-hop removed
  bool has_body = false;  // the request announced a body (Content-Length > 0 or chunked)
  bool upgrade = false;   // a WebSocket upgrade
  bool expect_continue = false;
  std::string client_address;
  std::string node;  // the first node to try, and where it listens
  std::string addr;
  bool head = false;  // a HEAD request: its response has no body whatever its framing says
  // The client's connection may go on after the response (HTTP/1.1, no Connection: close).
  bool keep_alive = false;
  // The body's Content-Length, when it has one (nullopt with has_body: chunked).
  std::optional<uint64_t> body_length;
  // Idle connections to peers are closed after this (below the peers' keep-alive timeout).
  std::chrono::milliseconds idle_timeout{15000};
};

// Takes back a client connection whose forwarded response has ended, with the bytes already read
// of its next request. Called on the connection's loop.
using ResumeConnection = std::function<void(boost::asio::ip::tcp::socket, std::string)>;

// Starts forwarding. `client_bytes` are what the connection already read past the head. `io` is
// the client socket's loop.
void StartForwardTunnel(boost::asio::io_context& io, boost::asio::ip::tcp::socket client,
                        std::string client_bytes, ForwardJob job, cluster::ClusterNode& cluster,
                        std::shared_ptr<HttpServer::ConnectionAccounts> accounts,
                        ResumeConnection resume);

}  // namespace dorm::net
