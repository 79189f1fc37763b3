// ThreadEngine's streamed response bodies: a fetch() handler answering the network front with a
// Response whose body is a stream gets a ResponseStream; js/runtime/response_streams.js reads the
// stream and hands each chunk over (ResponseStreamChunk), which passes the output gate like a
// WebSocket message, then goes to the connection's thread through the ResponseStream.
#include <algorithm>
#include <boost/asio/post.hpp>

#include "js/strings.h"
#include "runtime/thread_engine.h"

namespace dorm::runtime {

uint64_t ThreadEngine::OpenResponseStream(ObjectInstance* instance, uint64_t event_id,
                                          int64_t length) {
  auto it = instance->in_flight.find(event_id);
  if (it == instance->in_flight.end() || !it->second.stream_body || it->second.rpc ||
      it->second.response_stream != 0) {
    return 0;
  }
  const uint64_t id = next_response_stream_id_++;
  auto stream = std::make_shared<ResponseStream>();
  // Called on the connection's thread: only posts here. The engine outlives its loop's handlers.
  stream->SetProducerWake(
      [this, id] { boost::asio::post(io_, [this, id] { OnResponseStreamWake(id); }); });
  response_streams_.emplace(id, OpenStream{instance->slot, std::move(stream), length, {}});
  instance->response_streams.push_back(id);
  NoteObjectBusy(instance);
  it->second.response_stream = id;
  return id;
}

int ThreadEngine::ResponseStreamChunk(AppIsolate* caller, uint64_t id, std::string bytes) {
  auto it = response_streams_.find(id);
  if (it == response_streams_.end()) return 0;
  ObjectInstance* instance = FindObjectOfApp(caller, it->second.slot);
  if (!instance) return 0;
  std::shared_ptr<ResponseStream> stream = it->second.stream;
  if (stream->cancelled()) return 0;
  const bool more = stream->Reserve(bytes.size());
  OutputGate::SocketOutput output;
  output.socket_id = id;
  output.response_stream = stream;
  output.payload = std::make_shared<const std::string>(std::move(bytes));
  if (instance->output.AdmitSocketOutput(output, instance->uncommitted_writes())) {
    PerformStreamOutput(output);
  }
  if (more) return 1;
  return stream->cancelled() ? 0 : 2;
}

void ThreadEngine::EndResponseStream(AppIsolate* caller, uint64_t id, bool ok,
                                     ResponseStream::Failure failure) {
  auto it = response_streams_.find(id);
  if (it == response_streams_.end()) return;
  ObjectInstance* instance = FindObjectOfApp(caller, it->second.slot);
  if (!instance) return;
  if (!ok) it->second.failure = std::move(failure);
  OutputGate::SocketOutput output;
  output.socket_id = id;
  output.response_stream = it->second.stream;
  output.close = true;
  output.code = ok ? 0 : 1;
  // Until the end is performed the object keeps the stream: a reset meanwhile fails it.
  if (instance->output.AdmitSocketOutput(output, instance->uncommitted_writes())) {
    PerformStreamOutput(output);
  }
}

void ThreadEngine::PerformStreamOutput(const OutputGate::SocketOutput& output) {
  if (output.close) {
    auto it = response_streams_.find(output.socket_id);
    ResponseStream::Failure failure;
    if (it != response_streams_.end()) failure = std::move(it->second.failure);
    output.response_stream->Finish(output.code == 0, std::move(failure));
    ForgetResponseStream(output.socket_id);
  } else if (output.payload) {
    output.response_stream->Push(*output.payload);
  }
}

void ThreadEngine::ForgetResponseStream(uint64_t id) {
  auto it = response_streams_.find(id);
  if (it == response_streams_.end()) return;
  if (ObjectInstance* instance = FindBySlot(it->second.slot)) {
    auto& ids = instance->response_streams;
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    instance->last_active = std::chrono::steady_clock::now();
  }
  const uint64_t request_body = it->second.request_body;
  response_streams_.erase(it);
  DropRequestBody(request_body);
}

void ThreadEngine::FailResponseStreams(ObjectInstance* instance, const std::string& message) {
  for (uint64_t id : instance->response_streams) {
    auto it = response_streams_.find(id);
    if (it == response_streams_.end()) continue;
    it->second.stream->Finish(false, ResponseStream::Failure{"Error", message, true});
    response_streams_.erase(it);
  }
  instance->response_streams.clear();
}

void ThreadEngine::OnResponseStreamWake(uint64_t id) {
  auto it = response_streams_.find(id);
  if (it == response_streams_.end()) return;
  ObjectInstance* instance = FindBySlot(it->second.slot);
  if (!instance) {
    response_streams_.erase(it);
    return;
  }
  AppIsolate* app = instance->app;
  if (!MayStartTurn(app)) {
    RetrySettleSoon([this, id] { OnResponseStreamWake(id); });
    return;
  }
  const bool cancelled = it->second.stream->cancelled();
  // A cancelled stream has no consumer left: the object's code is told once, and the object
  // no longer waits for it.
  if (cancelled) ForgetResponseStream(id);
  const uint64_t slot = instance->slot;
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    v8::Local<v8::Function> signal = app->RuntimeFunction("responseStreamSignal");
    if (signal.IsEmpty()) return;
    v8::Local<v8::Value> args[] = {v8::Number::New(isolate, static_cast<double>(id)),
                                   v8::Boolean::New(isolate, cancelled)};
    // What the call throws (a termination included) is the turn's to handle.
    if (signal->Call(app->context(), v8::Undefined(isolate), 2, args).IsEmpty()) return;
  });
}

}  // namespace dorm::runtime
