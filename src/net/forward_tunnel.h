// A client's request for an object another node of the cluster serves, passed to that node: the
// connection's socket is handed over once the request head is read, the head goes to the owner
// with the forwarding headers (cluster/forward_auth.h), and from then on bytes pass both ways as
// they come (the request body, the response, and after a 101 the WebSocket's frames), 64 KiB at
// most per direction in flight, never the whole body.
//
// Connections are kept: the request goes on an idle kept-alive connection to the owner if this
// loop has one (net/peer_connections.h). The response's framing is parsed as it passes (Beast's
// parser), and so is the request's when it has a Content-Length (or no body); once both have
// ended cleanly, the connection to the owner goes back to the pool, and the client's connection
// goes on with its next request (`resume`, with the bytes already read of it) if the client and
// the owner both keep it. A chunked request body, an HTTP/1.0 request, a WebSocket upgrade, or a
// response that does not end cleanly closes the connections afterwards, as before.
//
// A request with a body (HTTP/1.1) is sent with `Expect: 100-continue`, and its body only once
// the owner answers "100 Continue", which it does only after making sure it owns the object. So a
// node that answers "not owner" (421 with x-dorm-owner) has read none of the body, and the
// request, body or not, is sent once more to the owner it names; a request whose body did go
// cannot be sent again (the client gets 503 saying to retry). An owner that cannot be reached
// gives 503 too, and the directory forgets what it knew of the object.
//
// An owner silent for cluster::kForwardAnswerWait before its final answer head (the owner sends
// "102 Processing" as it begins with a forwarded request and then every
// cluster::kForwardProgressEvery, which are not relayed) may be paused: its lease runs out within
// that wait and another node takes the object. If it never said it began (no 102, none of the
// body sent), the directory is asked again and the request goes to the node it names now (this
// node itself included, through its own address); otherwise the client gets 503 saying to retry,
// since the request may have run there.
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
