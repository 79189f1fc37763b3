// Plain HTTP messages exchanged between the network front and the object runtime.
#pragma once

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

  // A response the server itself produces: {"error": message} as JSON.
  static HttpResponseData JsonError(int status, const std::string& message);
};

// Called exactly once, on the thread that owns the object, when the response may be sent.
using ResponseCallback = std::function<void(HttpResponseData)>;

}  // namespace dorm::runtime
