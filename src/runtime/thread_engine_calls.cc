// ThreadEngine's calls between objects of an app: a stub's RPC call or fetch() leaves the caller's
// thread as an event for the callee (delivered through its input gate, answered through its output
// gate, so the caller never sees a result before the writes it reflects are durable), and the
// answer comes back to the caller's thread, where it settles the caller's promise in a turn.
#include <algorithm>
#include <boost/asio/post.hpp>

#include "cluster/cluster_node.h"
#include "js/array_buffers.h"
#include "js/strings.h"
#include "runtime/engine_pool.h"
#include "runtime/object_id.h"
#include "runtime/rpc_limits.h"
#include "runtime/rpc_message.h"
#include "runtime/rpc_streams.h"
#include "runtime/thread_engine.h"
#include "util/log.h"

namespace dorm::runtime {

namespace {

// The ids of adopted stub bodies as a JS array of numbers.
// The ids of an RPC message's adopted channels (ThreadEngine::AdoptRpcChannels) as a JS array:
// a stub body's id, or a writable channel's request body id negated.
v8::Local<v8::Array> StubBodyIds(v8::Isolate* isolate, const std::vector<double>& ids) {
  std::vector<v8::Local<v8::Value>> values;
  values.reserve(ids.size());
  for (double id : ids) values.push_back(v8::Number::New(isolate, id));
  return v8::Array::New(isolate, values.data(), values.size());
}

// [status, outcome, body, statusText, headers, reset, thrownName, socketToken, bodyStream,
// rpcStreams]: what a
// caller's
// promise gets (js/runtime/namespace.js turns it into a value, an error or a Response). outcome:
// 0 the object's response (fetch; body an ArrayBuffer), 1 the method returned (body the decoded RPC
// message), 2 it threw (RPC: the decoded message of the thrown value; fetch: an ArrayBuffer of the
// JSON error with its message, and thrownName its class), 3 a runtime error (ArrayBuffer of JSON
// {"error"}), 4 the RPC answer could not be decoded (body the exception). reset: 0 none, else 1 |
// 2 retryable | 4 overloaded. socketToken: for a 101, the ForwardedSockets token of the callee's
// socket; 0 otherwise. bodyStream: for a fetch answer whose body streams, its stub body id
// (ThreadEngine::AdoptStubBody; body is then empty); 0 otherwise. rpcStreams: for a returned RPC
// value, the stub body ids of the ReadableStreams in it, in the order of its stream markers.
// Empty when the isolate is terminating.
v8::Local<v8::Value> CallAnswer(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                HttpResponseData& answer, bool rpc, uint64_t socket_token,
                                uint64_t body_stream, const std::vector<double>& rpc_streams) {
  int outcome = answer.rpc_outcome == HttpResponseData::RpcOutcome::kReturned ? 1
                : answer.rpc_outcome == HttpResponseData::RpcOutcome::kThrew  ? 2
                : answer.runtime_error                                        ? 3
                                                                              : 0;
  v8::Local<v8::Value> body;
  if (rpc && (outcome == 1 || outcome == 2)) {
    std::optional<DecodedRpcMessage> decoded = DecodeRpcMessage(isolate, answer.body);
    if (!decoded) return {};
    body = decoded->value;
    if (decoded->unreadable) outcome = 4;
  } else {
    v8::Local<v8::ArrayBuffer> buffer;
    if (!js::NewArrayBufferCopy(isolate, answer.body).ToLocal(&buffer)) return {};
    body = buffer;
  }
  std::vector<v8::Local<v8::Value>> headers;
  headers.reserve(answer.headers.size());
  for (const auto& [name, value] : answer.headers) {
    v8::Local<v8::Value> pair[] = {js::FromUtf8(isolate, name), js::FromUtf8(isolate, value)};
    headers.push_back(v8::Array::New(isolate, pair, 2));
  }
  const int reset = !answer.object_reset
                        ? 0
                        : 1 | (answer.reset_retryable ? 2 : 0) | (answer.reset_overloaded ? 4 : 0);
  v8::Local<v8::Value> parts[] = {v8::Integer::New(isolate, answer.status),
                                  v8::Integer::New(isolate, outcome),
                                  body,
                                  js::FromUtf8(isolate, answer.status_text),
                                  v8::Array::New(isolate, headers.data(), headers.size()),
                                  v8::Integer::New(isolate, reset),
                                  js::FromUtf8(isolate, answer.thrown_name),
                                  v8::Number::New(isolate, static_cast<double>(socket_token)),
                                  v8::Number::New(isolate, static_cast<double>(body_stream)),
                                  StubBodyIds(isolate, rpc_streams)};
  return v8::Array::New(isolate, parts, 10);
}

}  // namespace

void ThreadEngine::CallObject(AppIsolate* caller, OutgoingCall call,
                              v8::Local<v8::Promise::Resolver> resolver) {
  v8::Isolate* isolate = caller->isolate();
  EnginePool* pool = shared_.pool;
  if (!pool || placement_thread_ < 0) {
    js::ThrowError(isolate, "Durable Object calls are not available here.");
    return;
  }
  // A service binding to another app's Worker: that app must have allowed this one.
  const bool foreign = call.address.app != caller->app();
  if (foreign) {
    std::shared_ptr<const AppCode> target = shared_.catalog.Get(call.address.app);
    if (!target || !target->Find(kWorkerClassName)) {
      js::ThrowError(isolate, "The Worker of app '" + call.address.app + "' is not deployed.");
      return;
    }
    if (!std::binary_search(target->service_callers.begin(), target->service_callers.end(),
                            caller->app())) {
      js::ThrowError(isolate, "App '" + call.address.app +
                                  "' does not accept service binding calls from app '" +
                                  caller->app() + "'.");
      return;
    }
  }
  {
    // The arguments wait in native memory until the callee takes them (behind this object's
    // output gate, between threads, in the callee's queue), and a request's body until its
    // handler settles: counted per app on this thread (rpc_charge.h).
    size_t bytes = kRpcCallCostBytes;
    if (call.fetch) {
      bytes += call.request.method.size() + call.request.url.size() + call.request.body.size();
      for (const auto& [name, value] : call.request.headers) bytes += name.size() + value.size();
    } else {
      bytes += call.args.size();
    }
    std::shared_ptr<std::atomic<size_t>>& counter =
        (call.fetch ? fetch_in_flight_ : rpc_in_flight_)[caller->app()];
    if (!counter) counter = std::make_shared<std::atomic<size_t>>(0);
    call.charge = RpcCharge::Take(counter, bytes);
    if (!call.charge) {
      js::ThrowError(isolate, call.fetch ? kFetchInFlightMessage : kRpcInFlightMessage);
      return;
    }
  }
  const uint64_t call_id = next_call_id_++;
  outgoing_calls_.emplace(
      call_id, PendingCall{caller, current_slot_,
                           v8::Global<v8::Promise::Resolver>(isolate, resolver), !call.fetch});
  const size_t home = static_cast<size_t>(placement_thread_);
  // Sends the call: to the callee's loop (SendLocalCall), or in cluster mode first to wherever
  // the cluster serves the callee (RouteClusterCall, thread_engine_peer_calls.cc). A Worker is
  // stateless: it runs on this node, in an instance named after it (WorkerInstanceOnNode), except
  // for a call on what a Worker on another node exported, which names that node's instance.
  const bool worker = IsWorkerEntrypoint(call.address.class_name);
  const bool clustered = shared_.cluster && shared_.peer_call;
  std::string worker_node;
  if (worker && shared_.cluster) {
    worker_node = std::string(WorkerInstanceNode(call.address.instance_name));
    if (worker_node.empty()) {
      call.address.instance_name =
          WorkerInstanceOnNode(call.address.instance_name, shared_.cluster->node());
      call.address.object_id.clear();
      CompleteAddress(call.address);
    } else if (worker_node == shared_.cluster->node()) {
      worker_node.clear();
    }
  }
  auto send = [pool, home, call_id, foreign, worker, clustered,
               worker_node = std::move(worker_node), call = std::move(call)]() mutable {
    if (clustered && !worker_node.empty()) {
      RouteWorkerCall(pool, home, call_id, std::move(call), worker_node);
      return;
    }
    if (clustered && !worker) {
      RouteClusterCall(pool, home, call_id, std::move(call));
      return;
    }
    SendLocalCall(pool, home, call_id, foreign, std::move(call), nullptr);
  };
  ObjectInstance* instance = FindBySlot(current_slot_);
  if (!instance) {
    send();
    return;
  }
  // As workerd gates an actor's subrequests: the call leaves once the writes the caller made
  // before it are durable (held in the caller's output gate with its responses, in order). If the
  // caller is reset first, the call is never sent and fails with the reset.
  Emit(instance, HttpResponseData{},
       [pool, home, call_id, send = std::move(send)](HttpResponseData released) mutable {
         if (released.runtime_error) {
           boost::asio::post(pool->io(home),
                             [pool, home, call_id, released = std::move(released)]() mutable {
                               if (ThreadEngine* engine = pool->engine(home)) {
                                 engine->CompleteCall(call_id, std::move(released));
                               }
                             });
           return;
         }
         send();
       });
}

void ThreadEngine::SendLocalCall(EnginePool* pool, size_t home, uint64_t call_id, bool foreign,
                                 OutgoingCall call, ResponseCallback answered) {
  // Routing counts the object as having an event on its way; the event then goes to its loop.
  const size_t loop = pool->RouteObject(call.address);
  if (!answered) {
    answered = Answerer(pool, home, loop, call_id);
  } else {
    // As Answerer does: a callee's WebSocket lives on the callee's loop.
    answered = [loop, answered = std::move(answered)](HttpResponseData answer) mutable {
      if (answer.web_socket_id != 0 && answer.web_socket_loop < 0) {
        answer.web_socket_loop = static_cast<int>(loop);
      }
      answered(std::move(answer));
    };
  }
  if (call.fetch) {
    // The answer's body may stream: the caller reads it as the callee produces it.
    HttpEvent event{std::move(call.request), std::move(answered), true};
    event.charge = std::move(call.charge);
    if (loop == home) event.local_call = call_id;
    pool->DispatchCall(loop, std::move(call.address), std::move(event));
  } else {
    pool->DispatchCall(loop, std::move(call.address),
                       RpcEvent{std::move(call.method), std::move(call.args), std::move(answered),
                                foreign, std::move(call.streams), std::move(call.charge)});
  }
}

ResponseCallback ThreadEngine::Answerer(EnginePool* pool, size_t home, size_t loop,
                                        uint64_t call_id) {
  return [pool, home, loop, call_id](HttpResponseData answer) {
    // A callee's WebSocket lives on the callee's loop (or, passed on through several stubs, on
    // the loop its first owner named); the caller may hand it to its own client.
    if (answer.web_socket_id != 0 && answer.web_socket_loop < 0) {
      answer.web_socket_loop = static_cast<int>(loop);
    }
    ThreadEngine* caller = pool->OnLoop(home) ? pool->engine(home) : nullptr;
    if (caller) {
      caller->RunSoon([caller, call_id, answer = std::move(answer)]() mutable {
        caller->CompleteCall(call_id, std::move(answer));
      });
      return;
    }
    boost::asio::post(pool->io(home), [pool, home, call_id, answer = std::move(answer)]() mutable {
      if (ThreadEngine* engine = pool->engine(home)) {
        engine->CompleteCall(call_id, std::move(answer));
      }
    });
  };
}

void ThreadEngine::AbandonSocket(const ForwardedSocket& socket) {
  EnginePool* pool = shared_.pool;
  // Another node's socket: that node drops it when nobody claims it (net/peer_sockets.h).
  if (!pool || socket.remote) return;
  boost::asio::post(pool->io(socket.loop), [pool, socket] {
    if (ThreadEngine* owner = pool->engine(socket.loop)) {
      owner->OnWebSocketClosed(socket.socket_id, 1006, "", false);
    }
  });
}

void ThreadEngine::CompleteCall(uint64_t call_id, HttpResponseData answer) {
  const std::optional<ForwardedSocket> socket =
      answer.remote_web_socket ? std::optional<ForwardedSocket>(
                                     ForwardedSocket{0, 0, std::move(answer.remote_web_socket)})
      : answer.web_socket_id != 0 && answer.web_socket_loop >= 0
          ? std::optional<ForwardedSocket>(ForwardedSocket{
                static_cast<size_t>(answer.web_socket_loop), answer.web_socket_id, nullptr})
          : std::nullopt;
  auto it = outgoing_calls_.find(call_id);
  if (it == outgoing_calls_.end()) {
    if (socket) AbandonSocket(*socket);
    if (answer.body_stream) answer.body_stream->Cancel();
    return;
  }
  AppIsolate* app = it->second.app;
  // The caller's isolate may have been reset meanwhile (its calls are dropped with it).
  if (!IsCurrentIsolate(app)) {
    outgoing_calls_.erase(it);
    if (socket) AbandonSocket(*socket);
    if (answer.body_stream) answer.body_stream->Cancel();
    return;
  }
  if (!MayStartTurn(app)) {
    RetrySettleSoon([this, call_id, answer = std::move(answer)]() mutable {
      CompleteCall(call_id, std::move(answer));
    });
    return;
  }
  PendingCall call = std::move(it->second);
  outgoing_calls_.erase(it);
  const uint64_t socket_token =
      socket ? forwarded_sockets_.Add(*socket, std::chrono::steady_clock::now()) : 0;
  // The continuation runs for the calling object, if it is still live.
  const uint64_t slot = FindBySlot(call.slot) ? call.slot : 0;
  const uint64_t body_stream =
      answer.body_stream ? AdoptStubBody(app, slot, std::move(answer.body_stream)) : 0;
  // The streams of a returned value do not keep the caller in memory: a caller that drops one
  // unread cancels it when it is collected (js/runtime/stub_bodies.js), or its reset does.
  const std::vector<AdoptedChannel> rpc_channels = AdoptRpcChannels(app, slot, answer.rpc_streams);
  std::vector<double> rpc_streams;
  for (const AdoptedChannel& channel : rpc_channels) {
    const double id = static_cast<double>(channel.id);
    rpc_streams.push_back(channel.writable ? -id : id);
  }
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    v8::Local<v8::Promise::Resolver> resolver = call.resolver.Get(isolate);
    call.resolver.Reset();
    v8::Local<v8::Value> settled =
        CallAnswer(isolate, context, answer, call.rpc, socket_token, body_stream, rpc_streams);
    if (settled.IsEmpty() || resolver->Resolve(context, settled).IsNothing()) {
      DropRpcChannels(rpc_channels);
      return;
    }
  });
}

bool ThreadEngine::IsCurrentIsolate(const AppIsolate* app) const {
  auto live = apps_.find(app->app());
  return live != apps_.end() && live->second.get() == app;
}

void ThreadEngine::RetrySettleSoon(std::function<void()> retry) {
  // Settles once the app's long turns elsewhere leave room, like an event.
  constexpr std::chrono::milliseconds kRetry{10};
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, kRetry);
  timer->async_wait([timer, retry = std::move(retry)](const boost::system::error_code& ec) {
    if (!ec) retry();
  });
}

void ThreadEngine::DropOutgoingCalls(AppIsolate* app) {
  for (auto it = outgoing_calls_.begin(); it != outgoing_calls_.end();) {
    it = it->second.app == app ? outgoing_calls_.erase(it) : std::next(it);
  }
}

void ThreadEngine::DeliverRpc(ObjectInstance* instance, RpcEvent event) {
  AppIsolate* app = instance->app;
  uint64_t slot = instance->slot;
  uint64_t event_id = BeginEvent(instance, std::move(event.done));
  {
    ObjectInstance::InFlightEvent& in_flight = instance->in_flight[event_id];
    in_flight.rpc = true;
    in_flight.foreign = event.foreign_caller;
    in_flight.tail_kind = TailKind::kRpc;
    in_flight.tail_method = event.method;
  }
  if (instance->usage) ++instance->usage->http_requests;
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    // Arguments that cannot be read fail the call with the reason (deliverRpc's sixth argument).
    std::optional<DecodedRpcMessage> decoded = DecodeRpcMessage(isolate, event.args);
    if (!decoded) return;
    v8::Local<v8::Value> args =
        decoded->unreadable ? v8::Undefined(isolate).As<v8::Value>() : decoded->value;
    v8::Local<v8::Value> unreadable =
        decoded->unreadable ? decoded->value : v8::Undefined(isolate).As<v8::Value>();
    // The ReadableStreams among the arguments: read as they come, like a streamed request body.
    // They do not keep this object in memory; the callee may keep them past the call, as on
    // workerd, and one it drops unread is cancelled when collected (js/runtime/stub_bodies.js).
    const std::vector<AdoptedChannel> channels = AdoptRpcChannels(app, slot, event.streams);
    std::vector<double> streams;
    for (const AdoptedChannel& channel : channels) {
      const double id = static_cast<double>(channel.id);
      streams.push_back(channel.writable ? -id : id);
    }
    v8::Local<v8::Value> argv[] = {instance->js_object.Get(isolate),
                                   js::FromUtf8(isolate, event.method),
                                   args,
                                   v8::Number::New(isolate, static_cast<double>(slot)),
                                   v8::Number::New(isolate, static_cast<double>(event_id)),
                                   unreadable,
                                   StubBodyIds(isolate, streams)};
    v8::Local<v8::Value> ignored;
    if (!app->deliver_rpc()->Call(context, v8::Undefined(isolate), 7, argv).ToLocal(&ignored)) {
      DropRpcChannels(channels);
      if (try_catch.HasTerminated()) return;
      SettleBySlot(slot, event_id, false,
                   try_catch.HasCaught()
                       ? try_catch.Exception()
                       : js::FromUtf8(isolate, "RPC delivery failed").As<v8::Value>());
    }
  });
}

HttpResponseData ThreadEngine::RpcAnswer(AppIsolate* app, bool fulfilled,
                                         v8::Local<v8::Value> value, bool foreign_caller) {
  // js/runtime/deliver.js settles RPC events with the token of the outcome, already encoded.
  std::optional<AppIsolate::StagedMessage> message;
  if (!value->IsNumber() || !(message = app->TakeStagedMessage(value.As<v8::Number>()->Value()))) {
    return HttpResponseData::JsonError(500, "The RPC result could not be serialized.");
  }
  if (message->bytes.size() > kMaxRpcMessageBytes) {
    return HttpResponseData::JsonError(500, RpcTooLargeMessage(message->bytes.size()));
  }
  if (message->references && foreign_caller) {
    return HttpResponseData::JsonError(500, kForeignReferencesMessage);
  }
  HttpResponseData answer;
  answer.rpc_outcome =
      fulfilled ? HttpResponseData::RpcOutcome::kReturned : HttpResponseData::RpcOutcome::kThrew;
  answer.body = std::move(message->bytes);
  answer.rpc_streams = std::move(message->streams);
  answer.rpc_references = message->references;
  return answer;
}

}  // namespace dorm::runtime
