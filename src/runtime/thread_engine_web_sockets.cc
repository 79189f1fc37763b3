// ThreadEngine's WebSocket half: events from connections become object events (waking a
// hibernated object), and the object's sends and closes pass the output gate.
#include <chrono>
#include <cstring>

#include "js/strings.h"
#include "runtime/thread_engine.h"
#include "util/log.h"

namespace dorm::runtime {

namespace {
long long WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

// Cloudflare's words for an object whose socket event outlived its event timeout.
const char kEventTimeoutMessage[] = "Actor exceeded event execution time and was disconnected.";

ObjectInstance* ThreadEngine::FindByKey(const std::string& object_key) {
  auto it = objects_.find(object_key);
  return it == objects_.end() ? nullptr : it->second.get();
}

bool ThreadEngine::AttachWebSocket(uint64_t id, std::shared_ptr<WebSocketTransport> transport) {
  WebSocketRecord* record = sockets_.Find(id);
  if (!record || record->state == WebSocketRecord::State::kClosed) return false;
  record->transport = std::move(transport);
  if (record->state == WebSocketRecord::State::kConnecting) {
    record->state = WebSocketRecord::State::kOpen;
  }
  // What the object sent before the handshake finished leaves first, in order.
  auto pending = std::move(record->pending);
  record->pending.clear();
  for (auto& [text, payload] : pending) record->transport->Send(text, std::move(payload));
  if (record->pending_close) {
    record->transport->Close(record->pending_close->first, record->pending_close->second);
    record->pending_close.reset();
  }
  return true;
}

void ThreadEngine::OnWebSocketMessage(uint64_t id, bool text, std::string data) {
  WebSocketRecord* record = sockets_.Find(id);
  if (!record || record->state == WebSocketRecord::State::kClosed || record->peer_closed) return;
  if (text && record->mode == WebSocketRecord::Mode::kHibernatable) {
    // The auto-response is answered here, without waking (or even reaching) the object.
    ObjectSockets* object = sockets_.FindObject(record->object_key);
    if (object && object->auto_response && object->auto_response->first == data) {
      record->auto_response_ms = WallClockMs();
      if (record->transport && record->state == WebSocketRecord::State::kOpen) {
        record->transport->Send(true,
                                std::make_shared<const std::string>(object->auto_response->second));
      }
      return;
    }
  }
  FetchEvent event;
  event.socket.emplace();
  event.socket->kind = SocketEvent::Kind::kMessage;
  event.socket->socket_id = id;
  event.socket->text = text;
  event.socket->data = std::move(data);
  if (!DispatchEvent(record->address, std::move(event))) {
    // The class is gone: nobody will ever read this socket.
    if (record->transport) record->transport->Close(1011, "Durable Object class not found.");
    sockets_.Remove(id);
  }
}

void ThreadEngine::OnWebSocketError(uint64_t id, const std::string& message) {
  WebSocketRecord* record = sockets_.Find(id);
  if (!record || record->state == WebSocketRecord::State::kClosed) return;
  FetchEvent event;
  event.socket.emplace();
  event.socket->kind = SocketEvent::Kind::kError;
  event.socket->socket_id = id;
  event.socket->data = message;
  DispatchEvent(record->address, std::move(event));
}

void ThreadEngine::OnWebSocketClosed(uint64_t id, int code, const std::string& reason, bool clean) {
  WebSocketRecord* record = sockets_.Find(id);
  if (!record || record->state == WebSocketRecord::State::kClosed || record->peer_closed) return;
  record->pending.clear();
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
  FetchEvent event;
  event.socket.emplace();
  event.socket->kind = SocketEvent::Kind::kClose;
  event.socket->socket_id = id;
  event.socket->data = reason;
  event.socket->code = code;
  event.socket->was_clean = clean;
  if (!DispatchEvent(record->address, std::move(event))) {
    // The class is gone: nobody will answer, so the peer's Close is echoed.
    if (WebSocketRecord* gone = sockets_.Find(id); gone && gone->transport) {
      gone->transport->Close(code, reason);
    }
    sockets_.Remove(id);
  }
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
    Log(LogLevel::kWarn, "[" + target->address.class_name + "/" + target->address.instance_name +
                             "] " + kEventTimeoutMessage);
    BreakInstance(target, kEventTimeoutMessage);
  });
  instance->event_timeouts[event_id] = std::move(timer);
}

void ThreadEngine::SocketOutput(WebSocketRecord* record, ObjectInstance::GatedSocketOutput output) {
  ObjectInstance* instance = FindByKey(record->object_key);
  if (instance) {
    output.required_seq = RequiredSeq(instance);
    if (instance->durable_seq < output.required_seq || !instance->gated_socket_outputs.empty()) {
      instance->gated_socket_outputs.push_back(std::move(output));
      return;
    }
  }
  PerformSocketOutput(output);
}

void ThreadEngine::PerformSocketOutput(const ObjectInstance::GatedSocketOutput& output) {
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
      record->pending_close.emplace(output.code, *output.payload);
    }
    return;
  }
  if (record->transport) {
    record->transport->Send(output.text, output.payload);
  } else {
    record->pending.emplace_back(output.text, output.payload);
  }
}

}  // namespace dorm::runtime
