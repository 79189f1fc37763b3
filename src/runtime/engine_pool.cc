#include "runtime/engine_pool.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "runtime/long_turn_limit.h"
#include "runtime/module_validator.h"
#include "runtime/object_id.h"
#include "runtime/object_placement.h"
#include "runtime/runtime_shared.h"
#include "runtime/thread_engine.h"

namespace dorm::runtime {

namespace asio = boost::asio;

struct EnginePool::Loop {
  asio::io_context io{1};
  // Created, used and destroyed on `thread` only.
  std::unique_ptr<ThreadEngine> engine;
  // The engine's slot in shared.long_turns (-1: none); set before Start() returns.
  int long_turn_slot = -1;
  std::thread thread;
};

EnginePool::EnginePool(RuntimeShared& shared, size_t loops) : shared_(shared) {
  shared_.pool = this;
  for (size_t i = 0; i < loops; ++i) loops_.push_back(std::make_unique<Loop>());
}

EnginePool::~EnginePool() {
  Stop();
  if (shared_.pool == this) shared_.pool = nullptr;
}

void EnginePool::Start() {
  std::vector<std::promise<void>> ready(loops_.size());
  for (size_t i = 0; i < loops_.size(); ++i) {
    Loop* loop = loops_[i].get();
    std::promise<void>* started = &ready[i];
    loop->thread = std::thread([this, loop, started, i] {
      // Made on its own thread: the engine registers that thread with the watchdog and the
      // long-turn limit.
      loop->engine = std::make_unique<ThreadEngine>(loop->io, shared_, static_cast<int>(i));
      loop->long_turn_slot = loop->engine->long_turn_slot();
      started->set_value();
      auto guard = asio::make_work_guard(loop->io);
      loop->io.run();
      loop->engine.reset();
    });
  }
  for (auto& r : ready) r.get_future().wait();
  started_ = true;
}

asio::io_context& EnginePool::io(size_t loop) const { return loops_[loop]->io; }

bool EnginePool::OnLoop(size_t loop) const {
  return loops_[loop]->thread.get_id() == std::this_thread::get_id();
}

ThreadEngine* EnginePool::engine(size_t loop) const { return loops_[loop]->engine.get(); }

size_t EnginePool::FirstNotBusy(size_t first, size_t loops,
                                const std::function<bool(size_t)>& busy) {
  for (size_t step = 0; step < loops; ++step) {
    size_t candidate = (first + step) % loops;
    if (!busy(candidate)) return candidate;
  }
  return first;
}

size_t EnginePool::LoopNotBusyFrom(size_t first) const {
  const LongTurnLimit* long_turns = shared_.long_turns.get();
  if (!long_turns) return first;
  const int64_t now_ns = LongTurnLimit::NowNs();
  return FirstNotBusy(first, loops_.size(), [&](size_t candidate) {
    return long_turns->Busy(loops_[candidate]->long_turn_slot, now_ns);
  });
}

size_t EnginePool::RouteObject(const ObjectAddress& given) {
  ObjectAddress address = given;
  CompleteAddress(address);
  const std::string key = ObjectKey(address);
  if (!shared_.placement) return ObjectPlacement::HomeThread(key, loops_.size());
  const LongTurnLimit* long_turns = shared_.long_turns.get();
  const int64_t now_ns = long_turns ? LongTurnLimit::NowNs() : 0;
  return shared_.placement->Route(key, loops_.size(), [&](size_t candidate) {
    return long_turns && long_turns->Busy(loops_[candidate]->long_turn_slot, now_ns);
  });
}

template <typename Deliver>
void EnginePool::RunCounted(size_t loop, ResponseCallback done, Deliver deliver) {
  ++requests_in_flight_;
  ResponseCallback answered = [this, done = std::move(done)](HttpResponseData response) {
    --requests_in_flight_;
    done(std::move(response));
  };
  Loop* owner = loops_[loop].get();
  if (OnLoop(loop)) {
    deliver(*owner->engine, std::move(answered));
    return;
  }
  asio::post(owner->io,
             [owner, deliver = std::move(deliver), answered = std::move(answered)]() mutable {
               deliver(*owner->engine, std::move(answered));
             });
}

void EnginePool::DispatchFetch(size_t loop, ObjectAddress address, HttpRequestData request,
                               ResponseCallback done) {
  RunCounted(loop, std::move(done),
             [address = std::move(address), request = std::move(request)](
                 ThreadEngine& engine, ResponseCallback answered) mutable {
               engine.DispatchFetch(std::move(address), std::move(request), std::move(answered));
             });
}

void EnginePool::ProbeOwnership(size_t loop, ObjectAddress address, ResponseCallback done) {
  RunCounted(
      loop, std::move(done),
      [address = std::move(address)](ThreadEngine& engine, ResponseCallback answered) mutable {
        HttpEvent probe{HttpRequestData{}, std::move(answered), false};
        probe.ownership_probe = true;
        engine.DispatchCall(std::move(address), std::move(probe));
      });
}

void EnginePool::DispatchWorkerFetch(size_t loop, std::string app, HttpRequestData request,
                                     ResponseCallback done) {
  RunCounted(loop, std::move(done),
             [app = std::move(app), request = std::move(request)](
                 ThreadEngine& engine, ResponseCallback answered) mutable {
               engine.DispatchWorkerFetch(std::move(app), std::move(request), std::move(answered));
             });
}

void EnginePool::DispatchCall(size_t loop, ObjectAddress address, ObjectEvent event) {
  ResponseCallback* done = nullptr;
  if (auto* http = std::get_if<HttpEvent>(&event)) done = &http->done;
  if (auto* rpc = std::get_if<RpcEvent>(&event)) done = &rpc->done;
  if (auto* command = std::get_if<StorageCommandEvent>(&event)) done = &command->done;
  if (done) {
    ++requests_in_flight_;
    *done = [this, inner = std::move(*done)](HttpResponseData response) {
      --requests_in_flight_;
      inner(std::move(response));
    };
  }
  Loop* owner = loops_[loop].get();
  if (OnLoop(loop) && owner->engine) {
    ThreadEngine* engine = owner->engine.get();
    engine->RunSoon([engine, address = std::move(address), event = std::move(event)]() mutable {
      engine->DispatchCall(std::move(address), std::move(event));
    });
    return;
  }
  asio::post(owner->io, [owner, address = std::move(address), event = std::move(event)]() mutable {
    if (owner->engine) owner->engine->DispatchCall(std::move(address), std::move(event));
  });
}

void EnginePool::RunStorageCommand(const ObjectAddress& address, StorageCommand command,
                                   ResponseCallback done) {
  const size_t loop = RouteObject(address);
  DispatchCall(loop, address, StorageCommandEvent{std::move(command), std::move(done)});
}

void EnginePool::FireAlarm(const ObjectAddress& address, long long scheduled_ms, int retry_count) {
  Loop* owner = loops_[RouteObject(address)].get();
  asio::post(owner->io, [owner, address, scheduled_ms, retry_count] {
    if (owner->engine) owner->engine->FireAlarm(address, scheduled_ms, retry_count);
  });
}

void EnginePool::WarmAlarm(const ObjectAddress& address) {
  Loop* owner = loops_[RouteObject(address)].get();
  asio::post(owner->io, [owner, address] {
    if (owner->engine) owner->engine->WarmForAlarm(address);
  });
}

void EnginePool::RefreshApp(const std::string& app) {
  RunOnEveryEngine([&](ThreadEngine& engine) { engine.RefreshApp(app); });
}

void EnginePool::RunOnEveryEngine(const std::function<void(ThreadEngine&)>& fn) {
  if (!started_ || stopped_) return;
  std::vector<std::promise<void>> done(loops_.size());
  for (size_t i = 0; i < loops_.size(); ++i) {
    Loop* loop = loops_[i].get();
    std::promise<void>* finished = &done[i];
    asio::post(loop->io, [loop, finished, &fn] {
      if (loop->engine) fn(*loop->engine);
      finished->set_value();
    });
  }
  for (auto& promise : done) {
    std::future<void> finished = promise.get_future();
    // A loop stopped meanwhile drops what was posted to it, unrun: nothing is left to wait for
    // (and nothing can touch `fn` or `done` any more) once its thread is joined.
    while (finished.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready) {
      if (stopped_) return;
    }
  }
}

std::unique_ptr<ModuleValidator> EnginePool::NewModuleValidator() const {
  return std::make_unique<ModuleValidator>(*shared_.watchdog, shared_.options.heap_limit_bytes);
}

void EnginePool::Drain(std::chrono::steady_clock::time_point deadline) {
  if (!started_ || stopped_) return;
  for (;;) {
    std::atomic<size_t> outstanding{0};
    RunOnEveryEngine([&](ThreadEngine& engine) { outstanding += engine.OutstandingWork(); });
    if ((outstanding == 0 && requests_in_flight_ == 0) ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void EnginePool::CloseAll() {
  RunOnEveryEngine([](ThreadEngine& engine) { engine.CloseAll(); });
}

void EnginePool::Stop() {
  if (stopped_) return;
  for (auto& loop : loops_) loop->io.stop();
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
  stopped_ = true;
}

}  // namespace dorm::runtime
