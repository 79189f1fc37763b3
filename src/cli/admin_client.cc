#include "cli/admin_client.h"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "util/crypto.h"

namespace dorm::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

ServerAddress SplitServerAddress(const std::string& server) {
  std::string rest = server;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  ServerAddress address{rest, rest, "80"};
  if (size_t colon = rest.rfind(':'); colon != std::string::npos) {
    address.host = rest.substr(0, colon);
    address.port = rest.substr(colon + 1);
  }
  return address;
}

void SendAdminGet(beast::tcp_stream& stream, const std::string& server, const std::string& token,
                  const std::string& target, const std::string& accept) {
  const auto [authority, host, port] = SplitServerAddress(server);
  asio::ip::tcp::resolver resolver(stream.get_executor());
  stream.connect(resolver.resolve(host, port));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, authority);
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::user_agent, "dorm-cli");
  if (!accept.empty()) req.set(http::field::accept, accept);
  http::write(stream, req);
}

namespace {

struct SentOnce {
  AdminResponse response;
  std::string retry_after;
};

SentOnce SendAdminRequest(const std::string& server, const std::string& token,
                          const std::string& method, const std::string& target,
                          const std::string& body, const std::string& idempotency_key) {
  const auto [authority, host, port] = SplitServerAddress(server);
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.connect(resolver.resolve(host, port));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, authority);
    req.set(http::field::authorization, "Bearer " + token);
    req.set(http::field::user_agent, "dorm-cli");
    if (!idempotency_key.empty()) req.set("Idempotency-Key", idempotency_key);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    http::read(stream, buffer, parser);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    auto res = parser.release();
    return SentOnce{AdminResponse{static_cast<int>(res.result_int()), res.body()},
                    std::string(res[http::field::retry_after])};
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot reach the Dorm server at " + server + ": " + e.what());
  }
}

// Whether `method` on `target` changes the control plane (what a cluster node makes once under an
// Idempotency-Key: control/admin_control.cc): a class deployed or deleted, a project, env vars,
// JWT configuration, service keys, service callers, transfers. Other requests (an import, a
// storage write) are not sent again.
bool ChangesControlPlane(const std::string& method, const std::string& target) {
  if (method == "GET" || method == "HEAD") return false;
  constexpr std::string_view kApps = "/_admin/v1/apps/";
  if (target.rfind(kApps, 0) != 0) return false;
  std::vector<std::string> parts;
  std::string_view rest(target);
  rest.remove_prefix(kApps.size());
  rest = rest.substr(0, rest.find('?'));
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    parts.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (parts.size() < 2) return false;
  if (parts[1] == "classes") return parts.size() <= 3;
  return parts[1] == "project" || parts[1] == "env" || parts[1] == "auth" || parts[1] == "keys" ||
         parts[1] == "service-callers" || parts[1] == "transfers";
}

// One key per change this process asks for: random per invocation, numbered within it.
std::string NextIdempotencyKey() {
  static const std::string invocation = ToHex(RandomBytes(16));
  static std::atomic<int> next{0};
  return "dorm-cli-" + invocation + "-" + std::to_string(++next);
}

}  // namespace

AdminResponse AdminRequest(const std::string& server, const std::string& token,
                           const std::string& method, const std::string& target,
                           const std::string& body) {
  const bool change = ChangesControlPlane(method, target);
  const std::string key = change ? NextIdempotencyKey() : "";
  for (int attempt = 0;; ++attempt) {
    SentOnce sent = SendAdminRequest(server, token, method, target, body, key);
    // A cluster node answers 503 with a short retry-after when the change's outcome was not
    // settled (it was not made, or may have been): sent again under the same key, it is made
    // once and answered with the first outcome. A longer wait (a suspended app) is the user's.
    if (!change || sent.response.status != 503 || attempt == kAdminRetries) return sent.response;
    int wait = 1;
    if (!sent.retry_after.empty()) {
      try {
        wait = std::stoi(sent.retry_after);
      } catch (const std::exception&) {
        return sent.response;
      }
    }
    if (wait < 0 || wait > 2) return sent.response;
    std::this_thread::sleep_for(std::chrono::seconds(wait));
  }
}

}  // namespace dorm::cli
