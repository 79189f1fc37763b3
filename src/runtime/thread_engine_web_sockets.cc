// ThreadEngine's WebSocket half: events from connections become object events (waking a
// hibernated object), and the object's sends and closes pass the output gate.

#include "js/array_buffers.h"
#include "js/strings.h"
#include "runtime/thread_engine.h"
#include "util/log.h"
#include "util/wall_clock.h"

namespace dorm::runtime {

bool ThreadEngine::AttachWebSocket(uint64_t id, std::shared_ptr<WebSocketTransport> transport) {
  WebSocketRecord* record = sockets_.Find(id);
  if (!record || record->state == WebSocketRecord::State::kClosed) return false;
  record->transport = std::move(transport);
  if (record->state == WebSocketRecord::State::kConnecting) {
    record->state = WebSocketRecord::State::kOpen;
  }
  // What the object sent before the handshake finished leaves first, in order.
  if (std::unique_ptr<PendingOutput> pending = std::move(record->pending)) {
    for (auto& [text, payload] : pending->messages) {
      record->transport->Send(text, std::move(payload));
    }
    if (pending->close) record->transport->Close(pending->close->first, pending->close->second);
  }
  return true;
}

void ThreadEngine::OnWebSocketMessage(uint64_t id, bool text, std::string data) {
  WebSocketRecord* record = sockets_.Find(id);
  if (!record || record->state == WebSocketRecord::State::kClosed || record->peer_closed) return;
  if (text && record->mode == WebSocketRecord::Mode::kHibernatable) {
    // The auto-response is answered here, without waking (or even reaching) the object.
    ObjectSockets* object = sockets_.FindObject(record->object_key());
    if (object && object->auto_response && object->auto_response->request == data) {
      record->auto_response_ms = WallClockMs();
      if (record->transport && record->state == WebSocketRecord::State::kOpen) {
        record->transport->Send(
            true, std::make_shared<const std::string>(object->auto_response->response));
      }
      return;
    }
  }
  SocketEvent event;
  event.kind = SocketEvent::Kind::kMessage;
  event.socket_id = id;
  event.text = text;
  event.data = std::move(data);
  if (!DispatchEvent(record->address(), std::move(event))) {
    // The class is gone: nobody will ever read this socket.
    if (record->transport) record->transport->Close(1011, "Durable Object class not found.");
    sockets_.Remove(id);
  }
}

void ThreadEngine::OnWebSocketError(uint64_t id, const std::string& message) {
  WebSocketRecord* record = sockets_.Find(id);
  if (!record || record->state == WebSocketRecord::State::kClosed) return;
  SocketEvent event;
  event.kind = SocketEvent::Kind::kError;
  event.socket_id = id;
  event.data = message;
  DispatchEvent(record->address(), std::move(event));
}

void ThreadEngine::OnWebSocketClosed(uint64_t id, int code, const std::string& reason, bool clean) {
  WebSocketRecord* record = sockets_.Find(id);
  if (!record || record->state == WebSocketRecord::State::kClosed || record->peer_closed) return;
  record->pending.reset();
  if (record->transport && record->transport->AwaitsCloseAnswer()) {
    if (record->mode == WebSocketRecord::Mode::kHibernatable) {
      // As on workerd, webSocketClose answers: a Close it makes is what the client receives. If
      // it makes none, the runtime (js/runtime/web_sockets.js) echoes the peer's code and reason
      // once the handler has settled.
      record->state = WebSocketRecord::State::kClosing;
      record->peer_closed = true;
    } else {
      // A standard socket answers at once with the peer's code and reason, as workerd does from
      // compatibility date 2026-04-07 (web_socket_auto_reply_to_close).
      record->transport->Close(code, reason);
    }
  }
  if (!record->peer_closed) {
    record->state = WebSocketRecord::State::kClosed;
    record->transport.reset();
  }
  SocketEvent event;
  event.kind = SocketEvent::Kind::kClose;
  event.socket_id = id;
  event.data = reason;
  event.code = code;
  event.was_clean = clean;
  if (!DispatchEvent(record->address(), std::move(event))) {
    // The class is gone: nobody will answer, so the peer's Close is echoed.
    if (WebSocketRecord* gone = sockets_.Find(id); gone && gone->transport) {
      gone->transport->Close(code, reason);
    }
    sockets_.Remove(id);
  }
}

void ThreadEngine::DeliverSocketEvent(ObjectInstance* instance, SocketEvent event) {
  WebSocketRecord* record = sockets_.Find(event.socket_id);
  if (!record) return;  // closed by a reset meanwhile
  AppIsolate* app = instance->app;
  const uint64_t slot = instance->slot;
  const uint64_t event_id = BeginEvent(instance, ResponseCallback());
  {
    ObjectInstance::InFlightEvent& in_flight = instance->in_flight[event_id];
    in_flight.tail_kind = event.kind == SocketEvent::Kind::kMessage ? TailKind::kWebSocketMessage
                          : event.kind == SocketEvent::Kind::kClose ? TailKind::kWebSocketClose
                                                                    : TailKind::kWebSocketError;
    in_flight.tail_code = event.code;
  }
  // Messages delivered to the object count as requests; auto-responses never get here.
  if (instance->usage && event.kind == SocketEvent::Kind::kMessage) {
    ++instance->usage->websocket_messages;
  }
  const bool hibernatable = record->mode == WebSocketRecord::Mode::kHibernatable;
  // The connection is gone; the object hears of it now, and then the socket is forgotten. The
  // record stays through the turn so the close handler's wrapper can copy the attachment and tags.
  const bool forget = event.kind == SocketEvent::Kind::kClose;
  if (hibernatable) StartEventTimeout(instance, event_id, record->object_key());
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    const char* kind = event.kind == SocketEvent::Kind::kMessage ? "message"
                       : event.kind == SocketEvent::Kind::kClose ? "close"
                                                                 : "error";
    v8::Local<v8::Value> data;
    if (event.kind == SocketEvent::Kind::kMessage && !event.text) {
      v8::Local<v8::ArrayBuffer> buffer;
      if (!js::NewArrayBufferCopy(isolate, event.data).ToLocal(&buffer)) {
        // No room in the app's memory budget, even after a collection: the event fails with the
        // RangeError, and settling it makes the refusal final (the app is reset).
        SettleBySlot(slot, event_id, false, try_catch.Exception());
        return;
      }
      data = buffer;
    } else {
      data = js::FromUtf8(isolate, event.data);
    }
    v8::Local<v8::Value> args[] = {instance->js_object.Get(isolate),
                                   instance->js_state.Get(isolate),
                                   js::FromUtf8(isolate, kind),
                                   v8::Number::New(isolate, static_cast<double>(event.socket_id)),
                                   v8::Boolean::New(isolate, hibernatable),
                                   data,
                                   v8::Integer::New(isolate, event.code),
                                   v8::Boolean::New(isolate, event.was_clean),
                                   v8::Number::New(isolate, static_cast<double>(slot)),
                                   v8::Number::New(isolate, static_cast<double>(event_id))};
    v8::Local<v8::Value> ignored;
    if (!app->RuntimeFunction("deliverWebSocketEvent")
             ->Call(context, v8::Undefined(isolate), 10, args)
             .ToLocal(&ignored) &&
        !try_catch.HasTerminated()) {
      SettleBySlot(slot, event_id, false, try_catch.Exception());
    }
  });
  // Harmless if a reset during the turn removed it already.
  if (forget) sockets_.Remove(event.socket_id);
}

void ThreadEngine::StartEventTimeout(ObjectInstance* instance, uint64_t event_id,
                                     const std::string& object_key) {
  ObjectSockets* sockets = sockets_.FindObject(object_key);
  if (!sockets || sockets->event_timeout_ms <= 0) return;
  auto timer = std::make_unique<boost::asio::steady_timer>(
      io_, std::chrono::milliseconds(sockets->event_timeout_ms));
  uint64_t slot = instance->slot;
  // Wall-clock time, as on Cloudflare: a handler waiting on a timer or I/O counts too. A handler
  // busy in JavaScript is the CPU limit's business; this fires after its turn at the earliest.
  timer->async_wait([this, slot, event_id](const boost::system::error_code& ec) {
    if (ec) return;  // disarmed: the event settled, or the instance is gone
    ObjectInstance* target = FindBySlot(slot);
    if (!target || target->in_flight.count(event_id) == 0) return;
    Log(LogLevel::kWarn, LogTag(target->address) + " " + kEventTimeoutMessage);
    BreakInstance(target, ResetReason::kEventTimeout);
  });
  instance->event_timeouts[event_id] = std::move(timer);
}

void ThreadEngine::SendOnSocket(WebSocketRecord* record, OutputGate::SocketOutput output) {
  // A hibernated object has no commits in progress: its outputs leave at once.
  ObjectInstance* instance = FindByKey(record->object_key());
  if (instance && !instance->output.AdmitSocketOutput(output, instance->uncommitted_writes())) {
    return;  // held; ReleaseGated() sends it
  }
  PerformSocketOutput(output);
}

SharedPayload ThreadEngine::PayloadOf(v8::Isolate* isolate, v8::Local<v8::String> text) {
  if (last_sent_payload_ && last_sent_string_.Get(isolate)->StrictEquals(text)) {
    return last_sent_payload_;
  }
  last_sent_payload_ = std::make_shared<const std::string>(js::ToUtf8(isolate, text));
  last_sent_string_.Reset(isolate, text);
  return last_sent_payload_;
}

void ThreadEngine::CloseSockets(FunctionRef<bool(const std::string&)> matches, int code,
                                const std::string& reason) {
  std::vector<uint64_t> doomed;
  sockets_.ForEach([&](WebSocketRecord* record) {
    if (matches(record->object_key())) doomed.push_back(record->id);
  });
  // A close reason is at most 123 bytes on the wire.
  std::string short_reason = reason.size() > 123 ? reason.substr(0, 123) : reason;
  for (uint64_t id : doomed) {
    WebSocketRecord* record = sockets_.Find(id);
    if (record->transport && record->state != WebSocketRecord::State::kClosed) {
      record->transport->Close(code, short_reason);
    }
    sockets_.Remove(id);
  }
}

void ThreadEngine::PerformSocketOutput(const OutputGate::SocketOutput& output) {
  if (output.response_stream) {
    PerformStreamOutput(output);
    return;
  }
  WebSocketRecord* record = sockets_.Find(output.socket_id);
  if (!record || record->state == WebSocketRecord::State::kClosed) return;
  if (output.close) {
    if (record->transport) {
      record->transport->Close(output.code, *output.payload);
      if (record->peer_closed) {
        // That was the answer to the peer's Close: the connection is done with the object.
        record->state = WebSocketRecord::State::kClosed;
        record->transport.reset();
        sockets_.Answered(output.socket_id);
      }
    } else {
      if (!record->pending) record->pending = std::make_unique<PendingOutput>();
      // Only the first Close leaves, as on a connection (a 1013 for dropped messages included).
      if (!record->pending->close) record->pending->close.emplace(output.code, *output.payload);
    }
    return;
  }
  if (record->transport) {
    record->transport->Send(output.text, output.payload);
    return;
  }
  if (!record->pending) record->pending = std::make_unique<PendingOutput>();
  PendingOutput& pending = *record->pending;
  // Nothing leaves after a Close, and a connection that comes later gets only that.
  if (pending.close) return;
  if (!pending.messages.empty() &&
      pending.bytes + output.payload->size() > kMaxPendingSocketBytes) {
    // As for a client that stops reading (net/web_socket_connection.cc): what waits is dropped,
    // and the connection is closed with 1013 if it ever comes.
    pending.messages.clear();
    pending.bytes = 0;
    pending.close.emplace(1013, "Client too slow");
    return;
  }
  pending.bytes += output.payload->size();
  pending.messages.emplace_back(output.text, output.payload);
}

}  // namespace dorm::runtime
