// ThreadEngine's fetch() to the outside world: an app's request leaves through this thread's HTTP
// client (after the calling object's earlier writes are durable, like every other output of the
// object) and its outcome settles the caller's promise in a turn, like a call's answer.
#include <boost/asio/post.hpp>
#include <cstring>

#include "js/strings.h"
#include "outbound/http_client.h"
#include "runtime/engine_pool.h"
#include "runtime/thread_engine.h"

namespace dorm::runtime {

namespace {

v8::Local<v8::Value> FetchAnswer(v8::Isolate* isolate, outbound::ExchangeResponse& response) {
  v8::Local<v8::ArrayBuffer> body = v8::ArrayBuffer::New(isolate, response.body.size());
  if (!response.body.empty()) {
    std::memcpy(body->GetBackingStore()->Data(), response.body.data(), response.body.size());
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
  outbound_fetches_.emplace(
      id,
      PendingFetch{caller, current_slot_, v8::Global<v8::Promise::Resolver>(isolate, resolver), 0});
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
    auto complete = [pool, home, id, outcome = std::move(outcome)]() mutable {
      if (ThreadEngine* engine = pool->engine(home)) engine->CompleteFetch(id, std::move(outcome));
    };
    if (ThreadEngine* caller = pool->OnLoop(home) ? pool->engine(home) : nullptr) {
      caller->RunSoon(std::move(complete));
    } else {
      boost::asio::post(pool->io(home), std::move(complete));
    }
  };
  if (!shared_.local_fetch(it->second.app->app(), local, respond)) return false;
  // Served by this server's own objects: no socket, so nothing counts as outbound traffic.
  it->second.exchange = 0;
  return true;
}

void ThreadEngine::StartFetch(uint64_t id, outbound::ExchangeRequest request) {
  auto it = outbound_fetches_.find(id);
  if (it == outbound_fetches_.end()) return;  // cancelled while held
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
        }
        outcome.failed = error != nullptr;
        CompleteFetch(id, std::move(outcome));
      });
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
  PendingFetch fetch = std::move(it->second);
  ForgetFetch(it);
  ObjectInstance* instance = FindBySlot(fetch.slot);
  if (instance && instance->usage && !outcome.failed) {
    instance->usage->outbound_bytes += outcome.response.body.size();
  }
  const uint64_t slot = instance ? fetch.slot : 0;
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    v8::Local<v8::Promise::Resolver> resolver = fetch.resolver.Get(isolate);
    fetch.resolver.Reset();
    if (outcome.failed) {
      if (resolver->Reject(context, FetchFailure(isolate, outcome.error_kind, outcome.error))
              .IsNothing())
        return;
    } else {
      if (resolver->Resolve(context, FetchAnswer(isolate, outcome.response)).IsNothing()) return;
    }
  });
}

void ThreadEngine::CancelFetch(AppIsolate* caller, uint64_t id) {
  auto it = outbound_fetches_.find(id);
  if (it == outbound_fetches_.end() || it->second.app != caller) return;
  if (it->second.exchange != 0 && http_client_) http_client_->Cancel(it->second.exchange);
  ForgetFetch(it);
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
  auto count = outbound_in_flight_.find(it->second.app);
  if (count != outbound_in_flight_.end() && --count->second == 0) outbound_in_flight_.erase(count);
  return outbound_fetches_.erase(it);
}

}  // namespace dorm::runtime
