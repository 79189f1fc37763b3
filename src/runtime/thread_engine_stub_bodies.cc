// ThreadEngine's streamed bodies of stub fetch() answers: the callee (an object or Worker, on
// this thread or another) produces its Response body into a ResponseStream as for a client
// (thread_engine_response_streams.cc, through its output gate); the caller, on this thread, is
// that stream's consumer. js/runtime/stub_bodies.js makes a ReadableStream that takes what is
// queued when read (stubBodyTake), so backpressure reaches the callee: a caller that does not read
// keeps at most about ResponseStream::kHighWater bytes queued.
//
// The other way, a request body the caller streams (OpenRequestBody...EndRequestBody): this
// thread's caller produces it, with no output gate, and the callee adopts it as a stub body that
// does not keep the callee in memory.
#include <boost/asio/post.hpp>

#include "runtime/rpc_streams.h"
#include "runtime/thread_engine.h"

namespace dorm::runtime {

uint64_t ThreadEngine::AdoptStubBody(AppIsolate* app, uint64_t slot,
                                     std::shared_ptr<ResponseStream> stream, bool pins) {
  const uint64_t id = next_stub_body_id_++;
  // Called on the producer's thread: only posts here. The engine outlives its loop's handlers.
  stream->SetConsumerWake(
      [this, id] { boost::asio::post(io_, [this, id] { OnStubBodyWake(id); }); });
  stub_bodies_.emplace(id, StubBody{app, slot, std::move(stream), pins, false});
  if (ObjectInstance* instance = FindBySlot(slot); instance && pins) {
    ++instance->stub_bodies;
    NoteObjectBusy(instance);
  }
  return id;
}

std::optional<ResponseStream::Taken> ThreadEngine::TakeStubBody(AppIsolate* caller, uint64_t id) {
  auto it = stub_bodies_.find(id);
  if (it == stub_bodies_.end() || it->second.app != caller) return std::nullopt;
  ResponseStream::Taken taken = it->second.stream->Take();
  // Once in the caller's stream the bytes no longer count against the producer's high-water
  // mark: the caller's stream reads (and so takes) only when its reader wants more.
  if (!taken.bytes.empty()) it->second.stream->Consumed(taken.bytes.size());
  if (taken.ended) ForgetStubBody(id);
  return taken;
}

void ThreadEngine::CancelStubBody(AppIsolate* caller, uint64_t id) {
  auto it = stub_bodies_.find(id);
  if (it == stub_bodies_.end() || it->second.app != caller) return;
  it->second.stream->Cancel();
  ForgetStubBody(id);
}

void ThreadEngine::ForgetStubBody(uint64_t id) {
  auto it = stub_bodies_.find(id);
  if (it == stub_bodies_.end()) return;
  if (ObjectInstance* instance = FindBySlot(it->second.slot); instance && it->second.pins) {
    if (instance->stub_bodies > 0) --instance->stub_bodies;
    instance->last_active = std::chrono::steady_clock::now();
  }
  stub_bodies_.erase(it);
}

void ThreadEngine::DropRequestBody(uint64_t id) {
  if (id == 0) return;
  auto it = stub_bodies_.find(id);
  if (it == stub_bodies_.end()) return;
  it->second.stream->Cancel();
  ForgetStubBody(id);
}

void ThreadEngine::CancelStubBodies(FunctionRef<bool(const StubBody&)> matches) {
  for (auto it = stub_bodies_.begin(); it != stub_bodies_.end();) {
    if (!matches(it->second)) {
      ++it;
      continue;
    }
    it->second.stream->Cancel();
    if (ObjectInstance* instance = FindBySlot(it->second.slot); instance && it->second.pins) {
      if (instance->stub_bodies > 0) --instance->stub_bodies;
    }
    it = stub_bodies_.erase(it);
  }
}

void ThreadEngine::OnStubBodyWake(uint64_t id) {
  auto it = stub_bodies_.find(id);
  if (it == stub_bodies_.end()) return;
  AppIsolate* app = it->second.app;
  if (!IsCurrentIsolate(app)) {
    it->second.stream->Cancel();
    ForgetStubBody(id);
    return;
  }
  if (!MayStartTurn(app)) {
    RetrySettleSoon([this, id] { OnStubBodyWake(id); });
    return;
  }
  const uint64_t slot = FindBySlot(it->second.slot) ? it->second.slot : 0;
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    v8::Local<v8::Function> signal = app->RuntimeFunction("stubBodySignal");
    if (signal.IsEmpty()) return;
    v8::Local<v8::Value> args[] = {v8::Number::New(isolate, static_cast<double>(id))};
    // What the call throws (a termination included) is the turn's to handle.
    if (signal->Call(app->context(), v8::Undefined(isolate), 1, args).IsEmpty()) return;
  });
}

uint64_t ThreadEngine::OpenRequestBody(AppIsolate* caller) {
  const uint64_t id = next_request_body_id_++;
  auto stream = std::make_shared<ResponseStream>();
  // Called on the consumer's thread: only posts here. The engine outlives its loop's handlers.
  stream->SetProducerWake(
      [this, id] { boost::asio::post(io_, [this, id] { OnRequestBodyWake(id); }); });
  request_bodies_.emplace(id, StubBody{caller, current_slot_, std::move(stream), false, false});
  return id;
}

std::shared_ptr<ResponseStream> ThreadEngine::TakeRequestBody(AppIsolate* caller, uint64_t id) {
  auto it = request_bodies_.find(id);
  if (it == request_bodies_.end() || it->second.app != caller || it->second.attached) {
    return nullptr;
  }
  it->second.attached = true;
  return it->second.stream;
}

uint64_t ThreadEngine::OpenRpcSink(AppIsolate* caller) {
  return AdoptStubBody(caller, current_slot_, std::make_shared<ResponseStream>(), /*pins=*/false);
}

std::shared_ptr<ResponseStream> ThreadEngine::TakeRpcSink(AppIsolate* caller, uint64_t id) {
  auto it = stub_bodies_.find(id);
  if (it == stub_bodies_.end() || it->second.app != caller || it->second.attached) return nullptr;
  it->second.attached = true;
  return it->second.stream;
}

std::vector<ThreadEngine::AdoptedChannel> ThreadEngine::AdoptRpcChannels(
    AppIsolate* app, uint64_t slot, const RpcStreams& streams) {
  std::vector<AdoptedChannel> ids;
  if (!streams) return ids;
  for (RpcChannel& channel : streams->Release()) {
    if (!channel.writable) {
      // Read as it comes; it does not keep this object in memory (one dropped unread is
      // cancelled when collected: js/runtime/stub_bodies.js).
      ids.push_back({AdoptStubBody(app, slot, std::move(channel.stream), /*pins=*/false), false});
      continue;
    }
    // This side produces; the sender's engine consumes it (its stub body since OpenRpcSink).
    const uint64_t id = next_request_body_id_++;
    channel.stream->SetProducerWake(
        [this, id] { boost::asio::post(io_, [this, id] { OnRequestBodyWake(id); }); });
    request_bodies_.emplace(id, StubBody{app, slot, std::move(channel.stream), false, true});
    ids.push_back({id, true});
  }
  return ids;
}

void ThreadEngine::DropRpcChannels(const std::vector<AdoptedChannel>& channels) {
  for (const AdoptedChannel& channel : channels) {
    if (!channel.writable) {
      DropRequestBody(channel.id);
      continue;
    }
    auto it = request_bodies_.find(channel.id);
    if (it == request_bodies_.end()) continue;
    it->second.stream->Finish(false);
    request_bodies_.erase(it);
  }
}

int ThreadEngine::RequestBodyChunk(AppIsolate* caller, uint64_t id, std::string bytes) {
  auto it = request_bodies_.find(id);
  if (it == request_bodies_.end() || it->second.app != caller) return 0;
  ResponseStream& stream = *it->second.stream;
  if (stream.cancelled()) return 0;
  const bool more = stream.Reserve(bytes.size());
  stream.Push(std::move(bytes));
  if (more) return 1;
  return stream.cancelled() ? 0 : 2;
}

void ThreadEngine::EndRequestBody(AppIsolate* caller, uint64_t id, bool ok, bool connection_lost) {
  auto it = request_bodies_.find(id);
  if (it == request_bodies_.end() || it->second.app != caller) return;
  if (connection_lost) {
    it->second.stream->Finish(false, ResponseStream::ConnectionLost());
  } else {
    it->second.stream->Finish(ok);
  }
  request_bodies_.erase(it);
}

void ThreadEngine::FailRequestBodies(FunctionRef<bool(const StubBody&)> matches,
                                     const ResponseStream::Failure& failure) {
  for (auto it = request_bodies_.begin(); it != request_bodies_.end();) {
    if (!matches(it->second)) {
      ++it;
      continue;
    }
    it->second.stream->Finish(false, failure);
    it = request_bodies_.erase(it);
  }
}

void ThreadEngine::OnRequestBodyWake(uint64_t id) {
  auto it = request_bodies_.find(id);
  if (it == request_bodies_.end()) return;
  AppIsolate* app = it->second.app;
  if (!IsCurrentIsolate(app)) {
    request_bodies_.erase(it);
    return;
  }
  if (!MayStartTurn(app)) {
    RetrySettleSoon([this, id] { OnRequestBodyWake(id); });
    return;
  }
  const bool cancelled = it->second.stream->cancelled();
  const uint64_t slot = FindBySlot(it->second.slot) ? it->second.slot : 0;
  // A cancelled body has no consumer left: the caller's code is told once.
  if (cancelled) request_bodies_.erase(it);
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    v8::Local<v8::Function> signal = app->RuntimeFunction("requestBodySignal");
    if (signal.IsEmpty()) return;
    v8::Local<v8::Value> args[] = {v8::Number::New(isolate, static_cast<double>(id)),
                                   v8::Boolean::New(isolate, cancelled)};
    // What the call throws (a termination included) is the turn's to handle.
    if (signal->Call(app->context(), v8::Undefined(isolate), 2, args).IsEmpty()) return;
  });
}

}  // namespace dorm::runtime
