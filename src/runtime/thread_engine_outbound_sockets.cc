// ThreadEngine's WebSockets to the outside world (`new WebSocket(url)`, fetch() with `Upgrade:
// websocket`). Such a socket is a record of the socket registry like an accepted one, standard
// (never hibernatable, so it keeps its object in memory), whose transport is an
// outbound::WebSocketClient: its messages and its end reach the object as events through the
// input gate (thread_engine_web_sockets.cc), and the object's sends and closes pass the output
// gate like those of any socket. The connection itself leaves once the writes the object made
// before it are durable, as fetch() does.
#include <cctype>

#include "js/array_buffers.h"
#include "js/strings.h"
#include "outbound/web_socket_client.h"
#include "runtime/thread_engine.h"
#include "runtime/web_socket_limits.h"

namespace dorm::runtime {

namespace {

// The runtime's handle on an outbound connection: sends and closes go to the client.
class OutboundSocketTransport final : public WebSocketTransport {
 public:
  // `sent` is told each message's size as it leaves the output gate (for the usage meters).
  OutboundSocketTransport(std::shared_ptr<outbound::WebSocketClient> client,
                          std::function<void(size_t)> sent)
      : client_(std::move(client)), sent_(std::move(sent)) {}
  void Send(bool text, SharedPayload payload) override {
    sent_(payload->size());
    client_->Send(text, std::move(payload));
  }
  void Close(int code, const std::string& reason) override { client_->Close(code, reason); }
  // The client answers the peer's Close itself (echoing it), as workerd's sockets do.
  bool AwaitsCloseAnswer() const override { return false; }

 private:
  std::shared_ptr<outbound::WebSocketClient> client_;
  std::function<void(size_t)> sent_;
};

std::string HeaderValue(const outbound::WebSocketAnswer& answer, std::string_view name) {
  for (const auto& [key, value] : answer.headers) {
    if (key.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < key.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(key[i])) == name[i];
    }
    if (same) return value;
  }
  return {};
}

// Empty, with an exception pending, when the app's memory budget has no room for the body.
v8::MaybeLocal<v8::Value> SocketAnswer(v8::Isolate* isolate,
                                       const outbound::WebSocketAnswer& answer) {
  v8::Local<v8::ArrayBuffer> body;
  if (!js::NewArrayBufferCopy(isolate, answer.body).ToLocal(&body)) return {};
  std::vector<v8::Local<v8::Value>> headers;
  headers.reserve(answer.headers.size() * 2);
  for (const auto& [name, value] : answer.headers) {
    headers.push_back(js::FromLatin1(isolate, name));
    headers.push_back(js::FromLatin1(isolate, value));
  }
  v8::Local<v8::Value> parts[] = {
      v8::Integer::New(isolate, answer.status),
      js::FromLatin1(isolate, answer.status_text),
      v8::Array::New(isolate, headers.data(), headers.size()),
      body,
      js::FromLatin1(isolate, HeaderValue(answer, "sec-websocket-protocol")),
      js::FromLatin1(isolate, HeaderValue(answer, "sec-websocket-extensions"))};
  return v8::Array::New(isolate, parts, 6);
}

}  // namespace

ThreadEngine::OutboundSocket::~OutboundSocket() {
  if (client) client->Abort();
}

uint64_t ThreadEngine::ConnectWebSocket(AppIsolate* caller, outbound::WebSocketRequest request,
                                        v8::Local<v8::Promise::Resolver> resolver) {
  v8::Isolate* isolate = caller->isolate();
  if (!shared_.options.outbound) {
    js::ThrowTypeError(isolate,
                       "WebSocket connections to other hosts are disabled on this server.");
    return 0;
  }
  ObjectInstance* instance = FindBySlot(current_slot_);
  if (!instance || instance->app != caller) {
    js::ThrowTypeError(isolate,
                       "A WebSocket connection can only be opened while handling an event.");
    return 0;
  }
  size_t& count = outbound_socket_count_[caller];
  if (count >= shared_.options.max_outbound_per_app) {
    js::ThrowTypeError(isolate, "Too many outbound WebSockets open (at most " +
                                    std::to_string(shared_.options.max_outbound_per_app) +
                                    " at once per app and thread).");
    return 0;
  }
  request.max_message_bytes = kMaxOutboundMessageBytes;
  request.max_buffered_bytes = kMaxOutboundBufferedBytes;
  const ObjectAddress& address = instance->address;
  WebSocketRecord* record = sockets_.Create(ObjectKey(address), address);
  NoteObjectBusy(instance);
  const uint64_t id = record->id;
  OutboundSocket entry;
  entry.app = caller;
  entry.slot = current_slot_;
  entry.resolver.Reset(isolate, resolver);
  outbound_sockets_.emplace(id, std::move(entry));
  ++count;
  // As workerd defers the handshake of an actor's socket: the connection is opened once the
  // writes the object made before are durable. A reset before then drops it.
  auto held = std::make_shared<outbound::WebSocketRequest>(std::move(request));
  Emit(instance, HttpResponseData{}, [this, id, held](HttpResponseData released) {
    if (!released.runtime_error) StartWebSocket(id, std::move(*held));
  });
  return id;
}

void ThreadEngine::StartWebSocket(uint64_t id, outbound::WebSocketRequest request) {
  auto it = outbound_sockets_.find(id);
  if (it == outbound_sockets_.end()) return;
  if (!sockets_.Find(id)) {  // the object was reset meanwhile
    ForgetOutboundSocket(id);
    return;
  }
  if (ObjectInstance* instance = FindBySlot(it->second.slot); instance && instance->usage) {
    ++instance->usage->outbound_requests;
  }
  outbound::WebSocketClient::Callbacks callbacks;
  callbacks.on_handshake = [this, id](outbound::WebSocketAnswer* answer,
                                      outbound::ExchangeError* error) {
    OnWebSocketHandshake(id, answer, error);
  };
  callbacks.on_message = [this, id](bool text, std::string data) {
    auto found = outbound_sockets_.find(id);
    if (found != outbound_sockets_.end()) {
      if (ObjectInstance* instance = FindBySlot(found->second.slot); instance && instance->usage) {
        instance->usage->outbound_bytes += data.size();
      }
    }
    OnWebSocketMessage(id, text, std::move(data));
  };
  callbacks.on_closed = [this, id](int code, std::string reason, bool clean, std::string error) {
    if (!error.empty()) OnWebSocketError(id, error);
    OnWebSocketClosed(id, code, reason, clean);
    ForgetOutboundSocket(id);
  };
  try {
    it->second.client = outbound::WebSocketClient::Connect(
        io_, shared_.options.outbound, std::move(request), std::move(callbacks));
  } catch (const std::exception& e) {
    auto error = std::make_shared<outbound::ExchangeError>();
    error->kind = outbound::ExchangeError::Kind::kTls;
    error->message = e.what();
    SettleWebSocket(id, nullptr, std::move(error));
  }
}

void ThreadEngine::OnWebSocketHandshake(uint64_t id, outbound::WebSocketAnswer* answer,
                                        outbound::ExchangeError* error) {
  auto it = outbound_sockets_.find(id);
  if (it == outbound_sockets_.end()) return;
  WebSocketRecord* record = sockets_.Find(id);
  if (!record) {
    ForgetOutboundSocket(id);
    return;
  }
  if (answer && answer->status == 101) {
    record->protocol = HeaderValue(*answer, "sec-websocket-protocol");
    const uint64_t slot = it->second.slot;
    AttachWebSocket(id, std::make_shared<OutboundSocketTransport>(
                            it->second.client, [this, slot](size_t bytes) {
                              ObjectInstance* instance = FindBySlot(slot);
                              if (instance && instance->usage) {
                                instance->usage->outbound_bytes += bytes;
                              }
                            }));
  }
  SettleWebSocket(
      id, answer ? std::make_shared<outbound::WebSocketAnswer>(std::move(*answer)) : nullptr,
      error ? std::make_shared<outbound::ExchangeError>(std::move(*error)) : nullptr);
}

void ThreadEngine::SettleWebSocket(uint64_t id, std::shared_ptr<outbound::WebSocketAnswer> answer,
                                   std::shared_ptr<outbound::ExchangeError> error) {
  auto it = outbound_sockets_.find(id);
  if (it == outbound_sockets_.end()) return;
  AppIsolate* app = it->second.app;
  const bool open = answer && answer->status == 101;
  if (!IsCurrentIsolate(app) || !sockets_.Find(id)) {
    ForgetOutboundSocket(id);
    return;
  }
  if (!MayStartTurn(app)) {
    RetrySettleSoon([this, id, answer, error]() { SettleWebSocket(id, answer, error); });
    return;
  }
  if (!open) {
    // Refused: the socket never was; the object hears of it through the promise.
    sockets_.Remove(id);
  }
  v8::Global<v8::Promise::Resolver> global = std::move(it->second.resolver);
  const uint64_t slot = FindBySlot(it->second.slot) ? it->second.slot : 0;
  if (!open) ForgetOutboundSocket(id);
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    v8::Local<v8::Promise::Resolver> resolver = global.Get(isolate);
    global.Reset();
    if (answer) {
      v8::Local<v8::Value> parts;
      if (!SocketAnswer(isolate, *answer).ToLocal(&parts)) {
        resolver->Reject(context, try_catch.Exception()).IsJust();
        return;
      }
      if (resolver->Resolve(context, parts).IsNothing()) return;
    } else {
      v8::Local<v8::Value> parts[] = {v8::Integer::New(isolate, static_cast<int>(error->kind)),
                                      js::FromUtf8(isolate, error->message)};
      if (resolver->Reject(context, v8::Array::New(isolate, parts, 2)).IsNothing()) return;
    }
  });
}

void ThreadEngine::ReadWebSocket(AppIsolate* caller, uint64_t id) {
  auto it = outbound_sockets_.find(id);
  if (it == outbound_sockets_.end() || it->second.app != caller || !it->second.client) return;
  if (!it->second.resolver.IsEmpty()) return;  // not open yet
  it->second.client->StartReading();
}

void ThreadEngine::ForgetOutboundSocket(uint64_t id) {
  auto it = outbound_sockets_.find(id);
  if (it == outbound_sockets_.end()) return;
  auto count = outbound_socket_count_.find(it->second.app);
  if (count != outbound_socket_count_.end() && --count->second == 0) {
    outbound_socket_count_.erase(count);
  }
  outbound_sockets_.erase(it);  // drops the connection, if it is still there
}

void ThreadEngine::DropOutboundSockets(AppIsolate* app) {
  std::vector<uint64_t> doomed;
  for (const auto& [id, socket] : outbound_sockets_) {
    if (socket.app == app) doomed.push_back(id);
  }
  for (uint64_t id : doomed) {
    sockets_.Remove(id);
    ForgetOutboundSocket(id);
  }
}

}  // namespace dorm::runtime
