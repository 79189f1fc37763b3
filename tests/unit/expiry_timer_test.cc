#include "net/expiry_timer.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace dorm::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = ExpiryTimer::Clock;

// What a pending wait keeps alive (the connection, in the server).
struct Owner {
  int fired = 0;
};

TEST(ExpiryTimer, ReArmedLaterCallsTheLatestCallbackOnceNotBeforeItsDeadline) {
  boost::asio::io_context io;
  ExpiryTimer timer(io);
  auto owner = std::make_shared<Owner>();
  int first = 0;
  int second = 0;
  Clock::time_point fired_at{};
  timer.Arm(milliseconds(20), owner, [&] { ++first; });
  const Clock::time_point deadline = Clock::now() + milliseconds(150);
  timer.Arm(milliseconds(150), owner, [&] {
    ++second;
    fired_at = Clock::now();
  });
  io.run();
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
  EXPECT_GE(fired_at, deadline);
  EXPECT_EQ(owner.use_count(), 1);  // no wait holds it any more
}

TEST(ExpiryTimer, ReArmedEarlierCancelsTheLongerWait) {
  boost::asio::io_context io;
  ExpiryTimer timer(io);
  auto owner = std::make_shared<Owner>();
  timer.Arm(seconds(30), owner, [&] { owner->fired += 100; });
  timer.Arm(milliseconds(10), owner, [&] { ++owner->fired; });
  // Had the 30 s wait been kept, nothing would have fired within the second.
  io.run_for(seconds(1));
  EXPECT_EQ(owner->fired, 1);
  EXPECT_TRUE(io.stopped());  // no wait left: the 30 s one was cancelled
}

TEST(ExpiryTimer, SuspendedCallsNothingAndLetsGoWhenTheWaitEnds) {
  boost::asio::io_context io;
  ExpiryTimer timer(io);
  auto owner = std::make_shared<Owner>();
  int fired = 0;
  timer.Arm(milliseconds(20), owner, [&] { ++fired; });
  timer.Suspend();
  std::weak_ptr<Owner> weak = owner;
  owner.reset();
  EXPECT_FALSE(weak.expired());  // the pending wait still holds it
  io.run();
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(weak.expired());
}

TEST(ExpiryTimer, ArmedAgainAfterSuspendFiresAtTheNewDeadline) {
  boost::asio::io_context io;
  ExpiryTimer timer(io);
  auto owner = std::make_shared<Owner>();
  int fired = 0;
  Clock::time_point fired_at{};
  timer.Arm(milliseconds(10), owner, [&] { fired += 100; });
  timer.Suspend();
  const Clock::time_point deadline = Clock::now() + milliseconds(80);
  timer.Arm(milliseconds(80), owner, [&] {
    ++fired;
    fired_at = Clock::now();
  });
  io.run();
  EXPECT_EQ(fired, 1);
  EXPECT_GE(fired_at, deadline);
}

TEST(ExpiryTimer, DisarmLetsGoOfTheOwnerAtOnce) {
  boost::asio::io_context io;
  ExpiryTimer timer(io);
  auto owner = std::make_shared<Owner>();
  int fired = 0;
  timer.Arm(seconds(30), owner, [&] { ++fired; });
  timer.Disarm();
  std::weak_ptr<Owner> weak = owner;
  owner.reset();
  io.run_for(seconds(1));
  EXPECT_TRUE(io.stopped());
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(fired, 0);
}

TEST(ExpiryTimer, TheCallbackMayArmAgain) {
  boost::asio::io_context io;
  ExpiryTimer timer(io);
  auto owner = std::make_shared<Owner>();
  int fired = 0;
  std::function<void()> again = [&] {
    if (++fired < 3) timer.Arm(milliseconds(5), owner, again);
  };
  timer.Arm(milliseconds(5), owner, again);
  io.run();
  EXPECT_EQ(fired, 3);
}

}  // namespace
}  // namespace dorm::net
