// ThreadEngine's fetch() to the outside world: an app's request leaves through this thread's HTTP
// client (after the calling object's earlier writes are durable, like every other output of the
// object) and its outcome settles the caller's promise in a turn, like a call's answer.
#include <boost/asio/post.hpp>

#include "js/array_buffers.h"
#include "js/strings.h"
#include "outbound/http_client.h"
#include "runtime/engine_pool.h"
#include "runtime/thread_engine.h"

namespace dorm::runtime {

namespace {

// The most of a streamed request body gathered for a request that may be for the server's own
// objects (as --max-body-bytes' default bounds a client's).
constexpr size_t kMaxGatheredBody = size_t{100} << 20;

// A streamed answer of the server's own objects to a local fetch() (StartLocalFetch), gathered
// whole on the caller's loop as the callee produces it: `complete` gets the outcome once the body
// has ended, failed, or passed kMaxGatheredBody (the fetch then fails, as for a request body).
// Alive while the stream's consumer wake-up (or a drain posted by it) holds it. `Outcome` is
// ThreadEngine's FetchOutcome.
template <typename Outcome>
struct LocalBodyGather {
  std::shared_ptr<ResponseStream> stream;
  boost::asio::io_context* io = nullptr;
  Outcome outcome;
  std::function<void(Outcome)> complete;
  bool done = false;

  // Takes what the callee has produced until a Take() finds nothing (which arms the wake-up for
  // the next Push() or Finish()) or the body ends.
  static void Drain(const std::shared_ptr<LocalBodyGather>& self) {
    if (self->done) return;
    ResponseStream::Taken taken;
    do {
      taken = self->stream->Take();
      self->stream->Consumed(taken.bytes.size());
      self->outcome.response.body += taken.bytes;
    } while (!taken.ended && !taken.bytes.empty() &&
             self->outcome.response.body.size() <= kMaxGatheredBody);
    if (self->outcome.response.body.size() > kMaxGatheredBody) {
      self->outcome.failed = true;
      self->outcome.error_kind = static_cast<int>(outbound::ExchangeError::Kind::kTooLarge);
      self->outcome.error = "The response body is larger than this server allows (" +
                            std::to_string(kMaxGatheredBody >> 20) + " MiB).";
      self->outcome.response.body.clear();
      self->stream->Cancel();
    } else if (taken.ended && taken.failed) {
      self->outcome.failed = true;
      self->outcome.error_kind = static_cast<int>(outbound::ExchangeError::Kind::kNetwork);
      self->outcome.error = "Network connection lost.";
      self->outcome.response.body.clear();
    } else if (!taken.ended) {
      return;  // armed: the wake-up posts the next drain
    }
    self->done = true;
    self->stream->SetConsumerWake(nullptr);  // breaks the cycle stream → wake-up → this
    self->complete(std::move(self->outcome));
  }

  static void Start(std::shared_ptr<ResponseStream> stream, boost::asio::io_context* io,
                    Outcome head, std::function<void(Outcome)> complete) {
    auto self = std::make_shared<LocalBodyGather>();
    self->stream = std::move(stream);
    self->io = io;
    self->outcome = std::move(head);
    self->complete = std::move(complete);
    self->stream->SetConsumerWake(
        [self] { boost::asio::post(*self->io, [self] { Drain(self); }); });
    boost::asio::post(*io, [self] { Drain(self); });
  }
};

// [status, statusText, headers, body]: body is the whole body as an ArrayBuffer, or, when it is
// streamed, the fetch's id (for readFetchBody). Empty, with an exception pending, when the app's
// memory budget has no room for the body.
v8::MaybeLocal<v8::Value> FetchAnswer(v8::Isolate* isolate, outbound::ExchangeResponse& response,
                                      uint64_t streamed_id) {
  v8::Local<v8::Value> body;
  if (streamed_id != 0) {
    body = v8::Number::New(isolate, static_cast<double>(streamed_id));
  } else {
    v8::Local<v8::ArrayBuffer> buffer;
    if (!js::NewArrayBufferCopy(isolate, response.body).ToLocal(&buffer)) return {};
    body = buffer;
  }
  std::vector<v8::Local<v8::Value>> headers;
  headers.reserve(response.headers.size() * 2);
  for (const auto& [name, value] : response.headers) {
    headers.push_back(js::FromLatin1(isolate, name));
    headers.push_back(js::FromLatin1(isolate, value));
  }
  v8::Local<v8::Value> parts[] = {v8::Integer::New(isolate, response.status),
                                  js::FromLatin1(isolate, response.status_text),
                                  v8::Array::New(isolate, headers.data(), headers.size()), body};
  return v8::Array::New(isolate, parts, 4);
}

// What a failed exchange's promise is rejected with: [kind, message], kind being
// outbound::ExchangeError::Kind as a number; js/prelude/fetch.js makes the error.
v8::Local<v8::Value> FetchFailure(v8::Isolate* isolate, int kind, const std::string& message) {
  v8::Local<v8::Value> parts[] = {v8::Integer::New(isolate, kind), js::FromUtf8(isolate, message)};
  return v8::Array::New(isolate, parts, 2);
}

}  // namespace

uint64_t ThreadEngine::FetchOutbound(AppIsolate* caller, outbound::ExchangeRequest request,
                                     v8::Local<v8::Promise::Resolver> resolver) {
  v8::Isolate* isolate = caller->isolate();
  if (!shared_.options.outbound) {
    js::ThrowTypeError(isolate, "fetch() to other hosts is disabled on this server.");
    return 0;
  }
  size_t& in_flight = outbound_in_flight_[caller];
  if (in_flight >= shared_.options.max_outbound_per_app) {
    js::ThrowTypeError(isolate, "Too many outbound requests in flight (at most " +
                                    std::to_string(shared_.options.max_outbound_per_app) +
                                    " at once per app and thread).");
    return 0;
  }
  std::shared_ptr<outbound::ByteBudget>& budget = outbound_budgets_[caller->app()];
  if (!budget) {
    budget = std::make_shared<outbound::ByteBudget>();
    budget->limit = shared_.options.max_outbound_bytes_per_app;
  }
  request.budget = budget;
  const uint64_t id = next_fetch_id_++;
  PendingFetch pending;
  pending.app = caller;
  pending.slot = current_slot_;
  pending.resolver.Reset(isolate, resolver);
  if (request.upload) {
    pending.upload = request.upload;
    request.upload->on_room = [this, id] { RunSoon([this, id] { OnFetchUploadRoom(id); }); };
  }
  outbound_fetches_.emplace(id, std::move(pending));
  ++in_flight;
  ObjectInstance* instance = FindBySlot(current_slot_);
  if (!instance) {
    StartFetch(id, std::move(request));
    return id;
  }
  // As workerd gates an actor's subrequests: the request leaves once the writes the object made
  // before it are durable. If the object is reset first, it never leaves (and the reset drops it).
  auto held = std::make_shared<outbound::ExchangeRequest>(std::move(request));
  Emit(instance, HttpResponseData{}, [this, id, held](HttpResponseData released) {
    if (!released.runtime_error) StartFetch(id, std::move(*held));
  });
  return id;
}

bool ThreadEngine::StartLocalFetch(uint64_t id, outbound::ExchangeRequest& request) {
  if (!shared_.local_fetch || !shared_.pool || placement_thread_ < 0) return false;
  // The server's own objects take whole bodies: a streamed one goes out through a socket.
  if (request.upload) return false;
  auto it = outbound_fetches_.find(id);
  HttpRequestData local{request.method, request.url, request.headers, request.body, nullptr};
  EnginePool* pool = shared_.pool;
  const size_t home = static_cast<size_t>(placement_thread_);
  std::function<void(HttpResponseData)> respond = [pool, home, id](HttpResponseData answer) {
    FetchOutcome outcome;
    outcome.response.status = answer.status;
    outcome.response.status_text = std::move(answer.status_text);
    outcome.response.headers = std::move(answer.headers);
    outcome.response.body = std::move(answer.body);
    auto settle = [pool, home, id](FetchOutcome outcome) {
      auto complete = [pool, home, id, outcome = std::move(outcome)]() mutable {
        if (ThreadEngine* engine = pool->engine(home)) {
          engine->CompleteFetch(id, std::move(outcome));
        }
      };
      if (ThreadEngine* caller = pool->OnLoop(home) ? pool->engine(home) : nullptr) {
        caller->RunSoon(std::move(complete));
      } else {
        boost::asio::post(pool->io(home), std::move(complete));
      }
    };
    if (answer.body_stream) {
      // A body the callee still produces (one compressed on its way out, or a stream): the
      // caller takes bodies of its own objects whole.
      LocalBodyGather<FetchOutcome>::Start(std::move(answer.body_stream), &pool->io(home),
                                           std::move(outcome), std::move(settle));
      return;
    }
    settle(std::move(outcome));
  };
  if (!shared_.local_fetch(it->second.app->app(), local, respond)) return false;
  // Served by this server's own objects: no socket, so nothing counts as outbound traffic.
  it->second.exchange = 0;
  return true;
}

void ThreadEngine::StartFetch(uint64_t id, outbound::ExchangeRequest request) {
  auto it = outbound_fetches_.find(id);
  if (it == outbound_fetches_.end()) return;  // cancelled while held
  if (request.upload && shared_.local_fetch && request.url.find("/_do/") != std::string::npos) {
    // Maybe for the server's own objects, which take whole bodies: the stream is gathered first
    // (bounded as a client's body is), then the request goes on with it as a whole body.
    std::shared_ptr<outbound::UploadBody> upload = request.upload;
    auto held = std::make_shared<outbound::ExchangeRequest>(std::move(request));
    auto gathered = [this, id, held] {
      if (!held->upload) return;  // already gone on
      outbound::UploadBody& body = *held->upload;
      body.on_data = nullptr;  // breaks the cycle held → upload → on_data → held
      auto found = outbound_fetches_.find(id);
      if (found == outbound_fetches_.end()) return;
      if (body.failed || body.queued.size() > kMaxGatheredBody) {
        FetchOutcome outcome;
        outcome.failed = true;
        outcome.error_kind =
            static_cast<int>(body.failed ? outbound::ExchangeError::Kind::kUploadFailed
                                         : outbound::ExchangeError::Kind::kTooLarge);
        outcome.error = body.failed ? "The request body failed."
                                    : "The request body is larger than this server allows (" +
                                          std::to_string(kMaxGatheredBody >> 20) + " MiB).";
        CompleteFetch(id, std::move(outcome));
        return;
      }
      held->body = std::move(body.queued);
      held->has_body = true;
      std::shared_ptr<outbound::UploadBody> done = std::move(held->upload);
      done->Close();
      found->second.upload.reset();
      StartFetch(id, std::move(*held));
    };
    upload->Gather(kMaxGatheredBody + 1);
    if (upload->ended) {
      gathered();
    } else {
      upload->on_data = [this, upload = upload.get(), gathered] {
        if (upload->ended || upload->queued.size() > kMaxGatheredBody) RunSoon(gathered);
      };
    }
    return;
  }
  if (StartLocalFetch(id, request)) return;
  if (!http_client_) {
    http_client_ = std::make_unique<outbound::HttpClient>(io_, shared_.options.outbound);
  }
  if (ObjectInstance* instance = FindBySlot(it->second.slot); instance && instance->usage) {
    ++instance->usage->outbound_requests;
    instance->usage->outbound_bytes += request.body.size();
  }
  it->second.exchange = http_client_->Start(
      std::move(request),
      [this, id](outbound::ExchangeResponse* response, outbound::ExchangeError* error) {
        FetchOutcome outcome;
        if (response) outcome.response = std::move(*response);
        if (error) {
          outcome.error = std::move(error->message);
          outcome.error_kind = static_cast<int>(error->kind);
          // The client has forgotten the exchange.
          auto found = outbound_fetches_.find(id);
          if (found != outbound_fetches_.end()) found->second.exchange = 0;
        }
        outcome.failed = error != nullptr;
        outcome.streamed = response != nullptr;
        CompleteFetch(id, std::move(outcome));
      },
      [this, id] { OnFetchBodyWake(id); });
}

void ThreadEngine::CompleteFetch(uint64_t id, FetchOutcome outcome) {
  auto it = outbound_fetches_.find(id);
  if (it == outbound_fetches_.end()) return;
  AppIsolate* app = it->second.app;
  if (!IsCurrentIsolate(app)) {
    ForgetFetch(it);
    return;
  }
  if (!MayStartTurn(app)) {
    RetrySettleSoon([this, id, outcome = std::move(outcome)]() mutable {
      CompleteFetch(id, std::move(outcome));
    });
    return;
  }
  const bool streamed = outcome.streamed && !outcome.failed;
  v8::Global<v8::Promise::Resolver> pending = std::move(it->second.resolver);
  const uint64_t fetch_slot = it->second.slot;
  if (streamed) {
    it->second.streaming = true;
  } else {
    // A streamed request body no longer has anywhere to go.
    if (it->second.upload) it->second.upload->Close();
    ForgetFetch(it);
  }
  ObjectInstance* instance = FindBySlot(fetch_slot);
  if (instance && instance->usage && !outcome.failed) {
    instance->usage->outbound_bytes += outcome.response.body.size();
  }
  const uint64_t slot = instance ? fetch_slot : 0;
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    v8::Local<v8::Promise::Resolver> resolver = pending.Get(isolate);
    pending.Reset();
    if (outcome.failed) {
      if (resolver->Reject(context, FetchFailure(isolate, outcome.error_kind, outcome.error))
              .IsNothing())
        return;
    } else {
      v8::Local<v8::Value> answer;
      if (!FetchAnswer(isolate, outcome.response, streamed ? id : 0).ToLocal(&answer)) {
        resolver->Reject(context, try_catch.Exception()).IsJust();
        return;
      }
      if (resolver->Resolve(context, answer).IsNothing()) return;
    }
  });
}

bool ThreadEngine::SettleFetchRead(uint64_t id, PendingFetch& fetch,
                                   v8::Local<v8::Promise::Resolver> reader) {
  v8::Isolate* isolate = fetch.app->isolate();
  v8::Local<v8::Context> context = fetch.app->context();
  std::string bytes;
  if (!fetch.body_ended && fetch.exchange != 0 && http_client_) {
    outbound::HttpClient::Chunk chunk = http_client_->Read(fetch.exchange);
    bytes = std::move(chunk.bytes);
    if (chunk.ended) {
      fetch.exchange = 0;
      fetch.body_ended = true;
      fetch.body_failed = chunk.failed;
      fetch.body_error = std::move(chunk.error);
    }
  } else if (!fetch.body_ended) {
    fetch.body_ended = true;
    fetch.body_failed = true;
    fetch.body_error.message = "Network connection lost.";
  }
  if (!bytes.empty()) {
    if (ObjectInstance* instance = FindBySlot(fetch.slot); instance && instance->usage) {
      instance->usage->outbound_bytes += bytes.size();
    }
    // Called from a native and from a turn: the read fails here, whoever called.
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::Uint8Array> chunk;
    if (js::NewUint8ArrayCopy(isolate, bytes).ToLocal(&chunk)) {
      reader->Resolve(context, chunk).IsJust();
    } else {
      reader->Reject(context, try_catch.Exception()).IsJust();
    }
    return false;
  }
  if (!fetch.body_ended) {
    fetch.reader.Reset(isolate, reader);
    return false;
  }
  if (fetch.body_failed) {
    reader
        ->Reject(context, FetchFailure(isolate, static_cast<int>(fetch.body_error.kind),
                                       fetch.body_error.message))
        .IsJust();
  } else {
    reader->Resolve(context, v8::Null(isolate)).IsJust();
  }
  (void)id;
  return true;
}

void ThreadEngine::ReadFetchBody(AppIsolate* caller, uint64_t id,
                                 v8::Local<v8::Promise::Resolver> resolver) {
  v8::Isolate* isolate = caller->isolate();
  auto it = outbound_fetches_.find(id);
  if (it == outbound_fetches_.end() || it->second.app != caller || !it->second.streaming ||
      !it->second.reader.IsEmpty()) {
    resolver
        ->Reject(caller->context(),
                 v8::Exception::TypeError(js::FromUtf8(isolate, "readFetchBody(id)")))
        .IsJust();
    return;
  }
  if (SettleFetchRead(id, it->second, resolver)) ForgetFetch(it);
}

void ThreadEngine::SettleFetchPromise(
    uint64_t id, v8::Global<v8::Promise::Resolver> PendingFetch::*waiting,
    void (ThreadEngine::*retry)(uint64_t),
    const std::function<void(std::unordered_map<uint64_t, PendingFetch>::iterator,
                             v8::Local<v8::Promise::Resolver>)>& settle) {
  auto it = outbound_fetches_.find(id);
  if (it == outbound_fetches_.end() || (it->second.*waiting).IsEmpty()) return;
  AppIsolate* app = it->second.app;
  if (!IsCurrentIsolate(app)) return;
  if (!MayStartTurn(app)) {
    RetrySettleSoon([this, id, retry] { (this->*retry)(id); });
    return;
  }
  ObjectInstance* instance = FindBySlot(it->second.slot);
  const uint64_t slot = instance ? it->second.slot : 0;
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    auto found = outbound_fetches_.find(id);
    if (found == outbound_fetches_.end() || (found->second.*waiting).IsEmpty()) return;
    v8::Local<v8::Promise::Resolver> promise = (found->second.*waiting).Get(isolate);
    (found->second.*waiting).Reset();
    settle(found, promise);
  });
}

void ThreadEngine::OnFetchBodyWake(uint64_t id) {
  SettleFetchPromise(id, &PendingFetch::reader, &ThreadEngine::OnFetchBodyWake,
                     [this, id](auto found, v8::Local<v8::Promise::Resolver> reader) {
                       if (SettleFetchRead(id, found->second, reader)) ForgetFetch(found);
                     });
}

v8::Local<v8::Value> ThreadEngine::WriteFetchBody(AppIsolate* caller, uint64_t id,
                                                  std::string_view bytes) {
  v8::Isolate* isolate = caller->isolate();
  auto it = outbound_fetches_.find(id);
  if (it == outbound_fetches_.end() || it->second.app != caller || !it->second.upload ||
      it->second.upload->closed || it->second.upload->ended) {
    return v8::False(isolate);
  }
  PendingFetch& fetch = it->second;
  if (ObjectInstance* instance = FindBySlot(fetch.slot); instance && instance->usage) {
    instance->usage->outbound_bytes += bytes.size();
  }
  if (fetch.upload->Write(bytes)) return v8::True(isolate);
  v8::Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(caller->context()).ToLocal(&resolver)) return v8::False(isolate);
  fetch.writer.Reset(isolate, resolver);
  return resolver->GetPromise();
}

void ThreadEngine::EndFetchBody(AppIsolate* caller, uint64_t id, bool ok) {
  auto it = outbound_fetches_.find(id);
  if (it == outbound_fetches_.end() || it->second.app != caller || !it->second.upload) return;
  it->second.upload->End(ok);
}

void ThreadEngine::OnFetchUploadRoom(uint64_t id) {
  SettleFetchPromise(
      id, &PendingFetch::writer, &ThreadEngine::OnFetchUploadRoom,
      [](auto found, v8::Local<v8::Promise::Resolver> writer) {
        AppIsolate* app = found->second.app;
        const bool open = found->second.upload && !found->second.upload->closed;
        writer->Resolve(app->context(), v8::Boolean::New(app->isolate(), open)).IsJust();
      });
}

void ThreadEngine::CancelFetch(AppIsolate* caller, uint64_t id) {
  auto it = outbound_fetches_.find(id);
  if (it == outbound_fetches_.end() || it->second.app != caller) return;
  if (it->second.exchange != 0 && http_client_) http_client_->Cancel(it->second.exchange);
  ForgetFetch(it);
}

void ThreadEngine::DropSlotFetches(uint64_t slot) {
  if (slot == 0) return;
  for (auto it = outbound_fetches_.begin(); it != outbound_fetches_.end();) {
    if (it->second.slot != slot) {
      ++it;
      continue;
    }
    if (it->second.exchange != 0 && http_client_) http_client_->Cancel(it->second.exchange);
    it = ForgetFetch(it);
  }
}

void ThreadEngine::DropOutboundFetches(AppIsolate* app) {
  for (auto it = outbound_fetches_.begin(); it != outbound_fetches_.end();) {
    if (it->second.app != app) {
      ++it;
      continue;
    }
    if (it->second.exchange != 0 && http_client_) http_client_->Cancel(it->second.exchange);
    it = ForgetFetch(it);
  }
}

std::unordered_map<uint64_t, ThreadEngine::PendingFetch>::iterator ThreadEngine::ForgetFetch(
    std::unordered_map<uint64_t, PendingFetch>::iterator it) {
  if (it->second.upload) {
    it->second.upload->on_room = nullptr;
    it->second.upload->Close();
  }
  auto count = outbound_in_flight_.find(it->second.app);
  if (count != outbound_in_flight_.end() && --count->second == 0) outbound_in_flight_.erase(count);
  return outbound_fetches_.erase(it);
}

}  // namespace dorm::runtime
