#include "runtime/input_gate.h"

#include <gtest/gtest.h>

#include <string>

namespace dorm::runtime {
namespace {

HttpEvent Request(const std::string& url, std::string* answered = nullptr) {
  HttpEvent event;
  event.request.url = url;
  if (answered) {
    event.done = [answered](HttpResponseData response) { *answered = response.body; };
  }
  return event;
}

std::string UrlOf(const ObjectEvent& event) { return std::get<HttpEvent>(event).request.url; }

TEST(InputGate, OpenGateDeliversEventsInArrivalOrder) {
  InputGate gate;
  EXPECT_FALSE(gate.ReadyToDeliver());
  gate.Enqueue(Request("/a"));
  gate.Enqueue(AlarmEvent{2, nullptr});
  gate.Enqueue(SocketEvent{SocketEvent::Kind::kMessage, 7, true, "hi", 0, false});
  EXPECT_EQ(gate.waiting(), 3u);
  ASSERT_TRUE(gate.ReadyToDeliver());
  EXPECT_EQ(UrlOf(gate.TakeNext()), "/a");
  ObjectEvent alarm = gate.TakeNext();
  ASSERT_TRUE(std::holds_alternative<AlarmEvent>(alarm));
  EXPECT_EQ(std::get<AlarmEvent>(alarm).retry_count, 2);
  ObjectEvent socket = gate.TakeNext();
  EXPECT_EQ(SocketIdOf(socket), 7u);
  EXPECT_FALSE(gate.ReadyToDeliver());
  EXPECT_TRUE(gate.empty());
}

TEST(InputGate, BlockConcurrencyWhileHoldsEventsUntilTheOutermostUnlock) {
  InputGate gate;
  ASSERT_TRUE(gate.Lock());
  gate.Enqueue(Request("/a"));
  EXPECT_FALSE(gate.ReadyToDeliver());
  ASSERT_TRUE(gate.Lock());  // nested
  EXPECT_EQ(gate.depth(), 2);
  EXPECT_FALSE(gate.Unlock());  // still held by the outer call
  EXPECT_TRUE(gate.locked());
  EXPECT_FALSE(gate.ReadyToDeliver());
  EXPECT_TRUE(gate.Unlock());  // opened with an event waiting
  EXPECT_FALSE(gate.locked());
  EXPECT_TRUE(gate.ReadyToDeliver());
}

TEST(InputGate, UnlockWithNothingWaitingOpensWithoutAskingForDelivery) {
  InputGate gate;
  ASSERT_TRUE(gate.Lock());
  EXPECT_FALSE(gate.Unlock());
  EXPECT_FALSE(gate.locked());
}

TEST(InputGate, UnbalancedUnlockIsIgnored) {
  InputGate gate;
  EXPECT_FALSE(gate.Unlock());
  EXPECT_EQ(gate.depth(), 0);
  gate.Enqueue(Request("/a"));
  EXPECT_FALSE(gate.Unlock());
  EXPECT_EQ(gate.depth(), 0);
  EXPECT_TRUE(gate.ReadyToDeliver());
}

TEST(InputGate, NestingPastTheLimitIsRefusedWithoutChangingTheDepth) {
  InputGate gate;
  for (int i = 0; i < InputGate::kMaxDepth; ++i) ASSERT_TRUE(gate.Lock());
  EXPECT_FALSE(gate.Lock());
  EXPECT_EQ(gate.depth(), InputGate::kMaxDepth);
  for (int i = 0; i < InputGate::kMaxDepth - 1; ++i) EXPECT_FALSE(gate.Unlock());
  EXPECT_EQ(gate.depth(), 1);
  gate.Enqueue(Request("/a"));
  EXPECT_TRUE(gate.Unlock());
}

TEST(InputGate, AThrowingCallbackResetTakesTheQueuedEventsWhileLocked) {
  // blockConcurrencyWhile(fn) where fn throws: the gate is never unlocked; the engine resets the
  // object and takes the events that waited behind it (to a fresh instance, or to fail them).
  InputGate gate;
  ASSERT_TRUE(gate.Lock());
  std::string answered_a, answered_b;
  gate.Enqueue(Request("/a", &answered_a));
  gate.Enqueue(Request("/b", &answered_b));
  std::list<ObjectEvent> taken = gate.TakeAll();
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(UrlOf(taken.front()), "/a");
  EXPECT_EQ(UrlOf(taken.back()), "/b");
  EXPECT_TRUE(gate.empty());
  for (auto& event : taken) FailEvent(event, HttpResponseData::JsonError(500, "boom"));
  EXPECT_NE(answered_a.find("boom"), std::string::npos);
  EXPECT_NE(answered_b.find("boom"), std::string::npos);
}

TEST(ObjectEvent, FailEventAnswersOnceAndDropsSocketEvents) {
  int calls = 0;
  ObjectEvent http = HttpEvent{{}, [&](HttpResponseData r) {
                                 ++calls;
                                 EXPECT_EQ(r.status, 503);
                               }};
  FailEvent(http, HttpResponseData::JsonError(503, "x"));
  FailEvent(http, HttpResponseData::JsonError(503, "x"));  // consumed: no second answer
  EXPECT_EQ(calls, 1);
  int alarm_status = 0;
  ObjectEvent alarm = AlarmEvent{0, [&](HttpResponseData r) { alarm_status = r.status; }};
  FailEvent(alarm, HttpResponseData::JsonError(500, "x"));
  EXPECT_EQ(alarm_status, 500);
  ObjectEvent socket = SocketEvent{};
  FailEvent(socket, HttpResponseData::JsonError(500, "x"));  // nobody waits: nothing happens
  ObjectEvent no_waiter = HttpEvent{};
  FailEvent(no_waiter, HttpResponseData::JsonError(500, "x"));
  EXPECT_EQ(SocketIdOf(http), 0u);
}

}  // namespace
}  // namespace dorm::runtime
