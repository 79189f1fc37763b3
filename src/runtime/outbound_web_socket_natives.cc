// The natives behind `new WebSocket(url)` and fetch() with `Upgrade: websocket`
// (js/prelude/web_socket.js): opening a WebSocket to another host, and starting its messages.
// The prelude parses the URL and makes workerd's errors; these check the shape of what they get
// anyway. Contracts: docs/contracts.md.
#include <cctype>
#include <cstring>

#include "js/strings.h"
#include "runtime/native_module.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

constexpr size_t kMaxSocketUrlBytes = 16 << 10;
constexpr size_t kMaxSocketHeaderBytes = 256 << 10;

// Whether `text` may go into the request line or a header: no CR, LF or NUL.
bool IsSafeForHandshake(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool IsHeaderName(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
    if (!ok) return false;
  }
  return true;
}

// The headers the client writes itself for the handshake; a caller's are not sent.
bool IsHandshakeHeader(std::string_view name) {
  static constexpr std::string_view kOwn[] = {"host",
                                              "upgrade",
                                              "connection",
                                              "sec-websocket-key",
                                              "sec-websocket-version",
                                              "sec-websocket-extensions",
                                              "content-length",
                                              "transfer-encoding"};
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view own : kOwn) {
    if (lower == own) return true;
  }
  return false;
}

class OutboundSocketCallbacks {
 public:
  // wsConnect(host, port, target, tls, headers: [name, value, ...]) → [id, promise]; see
  // ObjectHost::ConnectWebSocket for the promise.
  static void Connect(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    Local<v8::Context> context = isolate->GetCurrentContext();
    outbound::WebSocketRequest request;
    if (!js::StringToUtf8(isolate, info[0], &request.host) || request.host.empty() ||
        request.host.size() > 255 || !IsSafeForHandshake(request.host) || !info[1]->IsInt32() ||
        info[1].As<v8::Int32>()->Value() <= 0 || info[1].As<v8::Int32>()->Value() > 65535 ||
        !js::StringToUtf8(isolate, info[2], &request.target) || !request.target.starts_with("/") ||
        request.target.size() > kMaxSocketUrlBytes || !IsSafeForHandshake(request.target) ||
        request.target.find(' ') != std::string::npos || !info[3]->IsBoolean() ||
        !info[4]->IsArray()) {
      js::ThrowTypeError(isolate, "wsConnect(host, port, target, tls, headers)");
      return;
    }
    for (char c : request.host) {
      if (c == ' ' || c == '/' || c == '@' || c == '?' || c == '#') {
        js::ThrowTypeError(isolate, "wsConnect: invalid host");
        return;
      }
    }
    request.port = static_cast<uint16_t>(info[1].As<v8::Int32>()->Value());
    request.tls = info[3]->IsTrue();
    Local<v8::Array> headers = info[4].As<v8::Array>();
    const uint32_t length = headers->Length();
    size_t header_bytes = 0;
    for (uint32_t i = 0; i + 1 < length; i += 2) {
      Local<Value> name, value;
      if (!headers->Get(context, i).ToLocal(&name) ||
          !headers->Get(context, i + 1).ToLocal(&value)) {
        return;
      }
      if (!name->IsString() || !value->IsString()) {
        js::ThrowTypeError(isolate, "wsConnect: headers must be strings");
        return;
      }
      std::string name_text = js::ToLatin1(isolate, name);
      std::string value_text = js::ToUtf8(isolate, value);
      header_bytes += name_text.size() + value_text.size();
      if (!IsHeaderName(name_text) || !IsSafeForHandshake(value_text) ||
          header_bytes > kMaxSocketHeaderBytes) {
        js::ThrowTypeError(isolate, "wsConnect: invalid header");
        return;
      }
      if (IsHandshakeHeader(name_text)) continue;
      request.headers.emplace_back(std::move(name_text), std::move(value_text));
    }
    Local<v8::Promise::Resolver> resolver;
    if (!v8::Promise::Resolver::New(context).ToLocal(&resolver)) return;
    const uint64_t id = HostOf(info)->ConnectWebSocket(AppOf(info), std::move(request), resolver);
    if (id == 0) return;  // thrown
    Local<Value> result[] = {v8::Number::New(isolate, static_cast<double>(id)),
                             resolver->GetPromise()};
    info.GetReturnValue().Set(v8::Array::New(isolate, result, 2));
  }

  // wsRead(id): the object is ready for the socket's messages.
  static void Read(const FunctionCallbackInfo<Value>& info) {
    if (!info[0]->IsNumber()) return;
    const double id = info[0].As<v8::Number>()->Value();
    if (id >= 1 && id < 9.0e15) HostOf(info)->ReadWebSocket(AppOf(info), static_cast<uint64_t>(id));
  }
};

}  // namespace

std::span<const NativeFunction> OutboundWebSocketNatives() {
  static const NativeFunction kFunctions[] = {
      {"wsConnect", &OutboundSocketCallbacks::Connect},
      {"wsRead", &OutboundSocketCallbacks::Read},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
