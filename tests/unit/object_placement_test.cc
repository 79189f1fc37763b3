#include "runtime/object_placement.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace dorm::runtime {
namespace {

const auto kNoneBusy = [](size_t) { return false; };

// A key whose home thread among `threads` is `home`.
std::string KeyWithHome(size_t home, size_t threads, int salt = 0) {
  for (int i = 0;; ++i) {
    std::string key = "app\nClass\nobject-" + std::to_string(salt) + "-" + std::to_string(i);
    if (ObjectPlacement::HomeThread(key, threads) == home) return key;
  }
}

TEST(ObjectPlacement, AnUnplacedObjectGoesHomeWhenItsHomeIsNotBusy) {
  ObjectPlacement placement;
  for (size_t home = 0; home < 4; ++home) {
    std::string key = KeyWithHome(home, 4);
    EXPECT_EQ(placement.Route(key, 4, kNoneBusy), home);
    EXPECT_EQ(placement.PlacedOn(key), static_cast<int>(home));
  }
  EXPECT_EQ(placement.size(), 4u);
}

TEST(ObjectPlacement, AnUnplacedObjectSkipsBusyThreadsInOrderWrappingAround) {
  ObjectPlacement placement;
  std::string key = KeyWithHome(2, 4);
  // Home (2) and the next (3) are busy: wraps around to 0.
  EXPECT_EQ(placement.Route(key, 4, [](size_t t) { return t == 2 || t == 3; }), 0u);
  std::string second = KeyWithHome(2, 4, 1);
  EXPECT_EQ(placement.Route(second, 4, [](size_t t) { return t == 2; }), 3u);
  // Every thread busy: home.
  std::string third = KeyWithHome(1, 4, 2);
  EXPECT_EQ(placement.Route(third, 4, [](size_t) { return true; }), 1u);
}

TEST(ObjectPlacement, APlacedObjectStaysWhereItIsWhateverIsBusy) {
  ObjectPlacement placement;
  std::string key = KeyWithHome(0, 2);
  EXPECT_EQ(placement.Route(key, 2, kNoneBusy), 0u);
  placement.Arrived(key);
  ASSERT_TRUE(placement.Pin(key, 0));
  // Its thread is busy now, but the object lives there: its events must follow it.
  EXPECT_EQ(placement.Route(key, 2, [](size_t t) { return t == 0; }), 0u);
  placement.Arrived(key);
}

TEST(ObjectPlacement, ReleaseForgetsOnlyWhenNoEventIsOnItsWay) {
  ObjectPlacement placement;
  std::string key = KeyWithHome(0, 2);
  EXPECT_EQ(placement.Route(key, 2, kNoneBusy), 0u);
  EXPECT_EQ(placement.Route(key, 2, kNoneBusy), 0u);
  placement.Arrived(key);
  // One event is still on its way to thread 0: the object must stay there.
  placement.Release(key, 0);
  EXPECT_EQ(placement.PlacedOn(key), 0);
  EXPECT_EQ(placement.Route(key, 2, [](size_t t) { return t == 0; }), 0u);
  placement.Arrived(key);
  placement.Arrived(key);
  placement.Release(key, 0);
  EXPECT_EQ(placement.PlacedOn(key), -1);
  EXPECT_EQ(placement.size(), 0u);
  // Placed again from scratch: away from its busy home.
  EXPECT_EQ(placement.Route(key, 2, [](size_t t) { return t == 0; }), 1u);
}

TEST(ObjectPlacement, OnlyTheOwningThreadReleases) {
  ObjectPlacement placement;
  std::string key = KeyWithHome(0, 2);
  placement.Route(key, 2, kNoneBusy);
  placement.Arrived(key);
  placement.Release(key, 1);
  EXPECT_EQ(placement.PlacedOn(key), 0);
  placement.Release(key, 0);
  EXPECT_EQ(placement.PlacedOn(key), -1);
  // Releasing what is not placed, and arrivals nobody routed, are harmless.
  placement.Release(key, 0);
  placement.Arrived(key);
  EXPECT_EQ(placement.size(), 0u);
}

TEST(ObjectPlacement, PinPlacesAnUnplacedObjectAndRefusesAnotherThread) {
  ObjectPlacement placement;
  std::string key = KeyWithHome(0, 2);
  EXPECT_TRUE(placement.Pin(key, 1));  // e.g. an instance recreated for a late alarm completion
  EXPECT_EQ(placement.PlacedOn(key), 1);
  EXPECT_TRUE(placement.Pin(key, 1));
  EXPECT_FALSE(placement.Pin(key, 0));
  // Routed to where it is pinned, not to its home.
  EXPECT_EQ(placement.Route(key, 2, kNoneBusy), 1u);
}

TEST(ObjectPlacement, ArrivalsMoreThanRoutedDoNotUnderflow) {
  ObjectPlacement placement;
  std::string key = KeyWithHome(0, 2);
  ASSERT_TRUE(placement.Pin(key, 0));
  placement.Arrived(key);  // nothing was on its way
  placement.Route(key, 2, kNoneBusy);
  // One is on its way: not released.
  placement.Release(key, 0);
  EXPECT_EQ(placement.PlacedOn(key), 0);
}

// Routers on several threads and owners that create, then release: an object is never on two
// threads at once. Each owner thread creates an "instance" (a counter per key) only when Pin()
// allows, and drops it before releasing.
TEST(ObjectPlacement, ConcurrentRoutersNeverPlaceAnObjectOnTwoThreads) {
  constexpr size_t kThreads = 3;
  constexpr int kKeys = 8;
  constexpr int kRounds = 20000;
  ObjectPlacement placement;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back("app\nC\nk" + std::to_string(i));
  std::atomic<int> live[kKeys];
  for (auto& l : live) l.store(0);
  std::atomic<bool> violated{false};
  std::atomic<int> busy_thread{0};
  std::vector<std::thread> routers;
  for (size_t r = 0; r < kThreads; ++r) {
    routers.emplace_back([&, r] {
      for (int round = 0; round < kRounds; ++round) {
        int k = static_cast<int>((round * 7 + r) % kKeys);
        const std::string& key = keys[k];
        int busy = busy_thread.load();
        size_t thread =
            placement.Route(key, kThreads, [&](size_t t) { return static_cast<int>(t) == busy; });
        // This router plays the owner too: if the event's thread is this one, create the
        // instance, count it, drop it and release. Otherwise the arrival is all it may do.
        placement.Arrived(key);
        if (thread == r && placement.Pin(key, r)) {
          if (live[k].fetch_add(1) != 0) violated = true;
          live[k].fetch_sub(1);
          placement.Release(key, r);
        }
        if (round % 97 == 0) busy_thread.store((busy + 1) % static_cast<int>(kThreads));
      }
    });
  }
  for (auto& t : routers) t.join();
  EXPECT_FALSE(violated.load());
}

}  // namespace
}  // namespace dorm::runtime
