// ForwardedSockets (runtime/forwarded_sockets.h): sockets returned through a stub's fetch(), taken
// once by the Response that carries them, or expired when never returned.
#include "runtime/forwarded_sockets.h"

#include <gtest/gtest.h>

namespace dorm::runtime {
namespace {

using Clock = ForwardedSockets::Clock;

TEST(ForwardedSocketsTest, ATokenIsTakenOnceWithItsLoopAndSocket) {
  ForwardedSockets sockets;
  const Clock::time_point now = Clock::now();
  const uint64_t first = sockets.Add({1, 42, nullptr}, now);
  const uint64_t second = sockets.Add({0, 7, nullptr}, now);
  EXPECT_NE(first, 0u);
  EXPECT_NE(first, second);
  auto taken = sockets.Take(first);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->loop, 1u);
  EXPECT_EQ(taken->socket_id, 42u);
  EXPECT_FALSE(sockets.Take(first).has_value()) << "a socket is attached to one connection only";
  EXPECT_FALSE(sockets.Take(999).has_value());
  EXPECT_FALSE(sockets.empty());
  EXPECT_TRUE(sockets.Take(second).has_value());
  EXPECT_TRUE(sockets.empty());
}

TEST(ForwardedSocketsTest, AnotherNodesSocketKeepsWhereItIs) {
  ForwardedSockets sockets;
  auto remote =
      std::make_shared<const RemoteWebSocket>(RemoteWebSocket{"node-b", "http://b:1", "t"});
  const uint64_t token = sockets.Add({0, 0, remote}, Clock::now());
  auto taken = sockets.Take(token);
  ASSERT_TRUE(taken.has_value());
  ASSERT_NE(taken->remote, nullptr);
  EXPECT_EQ(taken->remote->node, "node-b");
  EXPECT_EQ(taken->remote->addr, "http://b:1");
  EXPECT_EQ(taken->remote->token, "t");
}

TEST(ForwardedSocketsTest, SocketsNeverReturnedExpireAfterTheirLifetime) {
  ForwardedSockets sockets;
  const Clock::time_point start = Clock::now();
  const uint64_t old_token = sockets.Add({0, 1, nullptr}, start);
  sockets.Add({1, 2, nullptr}, start + std::chrono::seconds(20));
  EXPECT_TRUE(sockets.TakeExpired(start + std::chrono::seconds(29)).empty());
  std::vector<ForwardedSocket> expired =
      sockets.TakeExpired(start + ForwardedSockets::kUnclaimedLifetime);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].socket_id, 1u);
  EXPECT_FALSE(sockets.Take(old_token).has_value());
  expired = sockets.TakeExpired(start + std::chrono::seconds(60));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].loop, 1u);
  EXPECT_TRUE(sockets.empty());
}

}  // namespace
}  // namespace dorm::runtime
