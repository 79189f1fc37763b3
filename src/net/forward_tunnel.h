// A client's request for an object another node of the cluster serves, passed to that node: the
// connection's socket is handed over once the request head is read, the head goes to the owner
// with the forwarding headers (cluster/forward_auth.h), and from then on bytes pass both ways as
// they come (the request body, the response, and after a 101 the WebSocket's frames), 64 KiB at
// most per direction in flight, never the whole body. The owner is told `Connection: close`, so
// it serves this one request; the client's connection ends with it.
//
// A node that answers "not owner" (421 with x-dorm-owner) before any byte was relayed to the
// client is asked again once, at the owner it names, if the request has no body (a body already
// passed on cannot be sent twice); otherwise, and when the owner cannot be reached, the client
// gets 503 with a message saying to retry, and the directory forgets what it knew of the object.
// The owner itself never forwards a forwarded request further, so a request makes at most
// kMaxForwardHops hops.
//
// Threading: lives on the loop of the client's socket; holds itself alive through its pending
// operations. Nothing blocks: connecting, writing and reading are asynchronous.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "cluster/cluster_node.h"
#include "net/http_server.h"

namespace dorm::net {

struct ForwardJob {
  std::string object;     // the object's key, as the directory knows it
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
};

// Starts forwarding. `client_bytes` are what the connection already read past the head.
void StartForwardTunnel(boost::asio::ip::tcp::socket client, std::string client_bytes,
                        ForwardJob job, cluster::ClusterNode& cluster,
                        std::shared_ptr<HttpServer::ConnectionAccounts> accounts);

}  // namespace dorm::net
