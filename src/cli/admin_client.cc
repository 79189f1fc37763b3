#include "cli/admin_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

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

AdminResponse AdminRequest(const std::string& server, const std::string& token,
                           const std::string& method, const std::string& target,
                           const std::string& body) {
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
    return AdminResponse{static_cast<int>(res.result_int()), res.body()};
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot reach the Dorm server at " + server + ": " + e.what());
  }
}

}  // namespace dorm::cli
