#include "runtime/engine_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "js/watchdog.h"
#include "runtime/object_id.h"
#include "runtime/object_placement.h"
#include "runtime/runtime_shared.h"
#include "runtime/thread_engine.h"

namespace dorm::runtime {
namespace {

TEST(EnginePool, FirstNotBusyTriesTheLoopsInOrderFromTheFirstWrappingAround) {
  EXPECT_EQ(EnginePool::FirstNotBusy(2, 4, [](size_t) { return false; }), 2u);
  EXPECT_EQ(EnginePool::FirstNotBusy(2, 4, [](size_t loop) { return loop >= 2; }), 0u);
  EXPECT_EQ(EnginePool::FirstNotBusy(0, 4, [](size_t loop) { return loop != 3; }), 3u);
  // Every loop busy: the first one all the same.
  EXPECT_EQ(EnginePool::FirstNotBusy(1, 4, [](size_t) { return true; }), 1u);
  EXPECT_EQ(EnginePool::FirstNotBusy(0, 1, [](size_t) { return true; }), 0u);
}

// A started pool of three loops. No app is deployed, so no isolate is ever made (nor V8 needed).
class StartedEnginePool : public ::testing::Test {
 protected:
  static constexpr size_t kLoops = 3;

  StartedEnginePool() {
    shared_.watchdog = std::make_unique<js::Watchdog>(std::chrono::milliseconds(1000));
    shared_.placement = std::make_unique<ObjectPlacement>();
    pool_ = std::make_unique<EnginePool>(shared_, kLoops);
    pool_->Start();
  }
  ~StartedEnginePool() override { pool_->Stop(); }

  RuntimeShared shared_;
  std::unique_ptr<EnginePool> pool_;
};

TEST_F(StartedEnginePool, RunOnEveryEngineRunsOnEachLoopWithItsEngine) {
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::atomic<int> own_engine{0};
  pool_->RunOnEveryEngine([&](ThreadEngine& engine) {
    for (size_t loop = 0; loop < kLoops; ++loop) {
      if (pool_->OnLoop(loop) && pool_->engine(loop) == &engine) ++own_engine;
    }
    std::lock_guard<std::mutex> lock(mu);
    threads.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(threads.size(), kLoops);
  EXPECT_EQ(own_engine, static_cast<int>(kLoops));
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  for (size_t loop = 0; loop < kLoops; ++loop) EXPECT_FALSE(pool_->OnLoop(loop));
}

TEST_F(StartedEnginePool, ARequestIsAnsweredOnItsObjectsLoopWhichForgetsItOnceNothingRemains) {
  ObjectAddress address{"shop", "cart", "alice", ""};
  CompleteAddress(address);
  const size_t loop = pool_->RouteObject(address);
  EXPECT_EQ(loop, ObjectPlacement::HomeThread(ObjectKey(address), kLoops));
  EXPECT_EQ(shared_.placement->PlacedOn(ObjectKey(address)), static_cast<int>(loop));
  std::promise<std::pair<int, bool>> answer;
  pool_->DispatchFetch(loop, address, HttpRequestData{"GET", "http://localhost/", {}, "", nullptr},
                       [&](HttpResponseData response) {
                         answer.set_value({response.status, pool_->OnLoop(loop)});
                       });
  auto [status, on_owner_loop] = answer.get_future().get();
  EXPECT_EQ(status, 404);  // no such class
  EXPECT_TRUE(on_owner_loop);
  // Nothing of the object stayed on its loop: the placement is gone once the loop is done.
  pool_->Drain(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  EXPECT_EQ(shared_.placement->size(), 0u);
}

TEST_F(StartedEnginePool, RunOnEveryEngineReturnsWhenTheLoopsStopUnderIt) {
  // Loop 0 is held until the pool is stopping, so the work posted behind it never runs.
  boost::asio::post(pool_->io(0), [this] {
    while (!pool_->io(0).stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  std::atomic<int> ran{0};
  auto waiting = std::async(std::launch::async,
                            [&] { pool_->RunOnEveryEngine([&](ThreadEngine&) { ++ran; }); });
  while (ran < static_cast<int>(kLoops) - 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  pool_->Stop();
  EXPECT_EQ(waiting.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(ran, static_cast<int>(kLoops) - 1);
  // And from then on at once, without running anything.
  pool_->RunOnEveryEngine([&](ThreadEngine&) { ++ran; });
  pool_->Drain(std::chrono::steady_clock::time_point::max());
  EXPECT_EQ(ran, static_cast<int>(kLoops) - 1);
}

}  // namespace
}  // namespace dorm::runtime
