// Plain HTTP messages exchanged between the network front and the object runtime.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dorm::runtime {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequestData {
  std::string method;
  std::string url;  // absolute, as the object's fetch() sees it
  HeaderList headers;
  std::string body;
};

struct HttpResponseData {
  int status = 200;
  std::string status_text;
  HeaderList headers;
  std::string body;
  // Non-zero for a 101 answer to a WebSocket upgrade: the runtime's id of the socket, which the
  // network front attaches to the connection once its handshake is done.
  uint64_t web_socket_id = 0;

  // A response the server itself produces: {"error": message} as JSON.
  static HttpResponseData JsonError(int status, const std::string& message);
};

// Called exactly once, on the thread that owns the object, when the response may be sent.
using ResponseCallback = std::function<void(HttpResponseData)>;

}  // namespace dorm::runtime
