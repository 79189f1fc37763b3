// HttpServer::ServeLocalFetch: an object's fetch() of its own app's `/_do/` URLs on this server,
// served as a client's request without a socket.
#include <boost/beast/core/string.hpp>

#include "net/http_server.h"
#include "net/own_url.h"
#include "runtime/engine_pool.h"

namespace dorm::net {

bool HttpServer::ServeLocalFetch(const std::string& app, runtime::HttpRequestData& request,
                                 std::function<void(runtime::HttpResponseData)>& respond) {
  std::optional<OwnUrl> own = ParseOwnUrl(request.url, options_.host, bound_port_.load());
  if (!own) return false;
  Plan plan = PlanRequest(own->target, own->host);
  // Only the app's own objects: another app's URLs, Workers and the admin API are reached the
  // way any client reaches them, through the network (and the outbound address policy).
  if (plan.route.kind != RouteKind::kObject || plan.address.app != app) return false;
  bool has_host = false;
  for (const auto& [name, value] : request.headers) {
    // A WebSocket handshake needs a connection to hand the socket to.
    if (boost::beast::iequals(name, "upgrade")) return false;
    has_host |= boost::beast::iequals(name, "host");
  }
  if (!has_host) request.headers.emplace_back("host", own->host);
  std::string protocol_fallback;
  if (auto refused = Admit(plan, request, own->target, own->host, &protocol_fallback)) {
    respond(std::move(*refused));
    return true;
  }
  const size_t owner = pool_.RouteObject(plan.address);
  Dispatch(owner, std::move(plan), std::move(request), std::move(protocol_fallback),
           std::move(respond));
  return true;
}

}  // namespace dorm::net
