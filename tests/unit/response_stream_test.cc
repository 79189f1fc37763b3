#include "runtime/response_stream.h"

#include <gtest/gtest.h>

#include <string>

namespace dorm::runtime {
namespace {

TEST(ResponseStream, ChunksReachTheConsumerInOrderThenTheEnd) {
  ResponseStream stream;
  int consumer_wakes = 0;
  stream.SetConsumerWake([&] { ++consumer_wakes; });
  ResponseStream::Taken nothing = stream.Take();
  EXPECT_TRUE(nothing.bytes.empty());
  EXPECT_FALSE(nothing.ended);
  EXPECT_TRUE(stream.Reserve(2));
  stream.Push("ab");
  EXPECT_EQ(consumer_wakes, 1);  // the consumer had found nothing
  EXPECT_TRUE(stream.Reserve(1));
  stream.Push("c");
  EXPECT_EQ(consumer_wakes, 1);  // it has not taken the first yet: no second wake-up
  ResponseStream::Taken taken = stream.Take();
  EXPECT_EQ(taken.bytes, "abc");
  EXPECT_FALSE(taken.ended);
  stream.Finish(true);
  taken = stream.Take();
  EXPECT_TRUE(taken.ended);
  EXPECT_FALSE(taken.failed);
}

TEST(ResponseStream, AFailedBodyEndsAsFailed) {
  ResponseStream stream;
  stream.Reserve(1);
  stream.Push("x");
  stream.Finish(false);
  stream.Finish(true);  // ignored: the body ended already
  ResponseStream::Taken taken = stream.Take();
  EXPECT_EQ(taken.bytes, "x");
  EXPECT_TRUE(taken.ended);
  EXPECT_TRUE(taken.failed);
}

TEST(ResponseStream, TheProducerWaitsPastTheHighWaterMarkUntilTheConsumerDrains) {
  ResponseStream stream;
  int producer_wakes = 0;
  stream.SetProducerWake([&] { ++producer_wakes; });
  const size_t chunk = 16u << 10;
  size_t reserved = 0;
  while (stream.Reserve(chunk)) {
    stream.Push(std::string(chunk, 'a'));
    reserved += chunk;
    ASSERT_LT(reserved, ResponseStream::kHighWater);
  }
  stream.Push(std::string(chunk, 'a'));
  reserved += chunk;
  EXPECT_GE(reserved, ResponseStream::kHighWater);
  ResponseStream::Taken taken = stream.Take();
  EXPECT_EQ(taken.bytes.size(), reserved);
  // Written in part: still above the low-water mark, the producer keeps waiting.
  stream.Consumed(reserved - ResponseStream::kLowWater);
  EXPECT_EQ(producer_wakes, 0);
  stream.Consumed(1);
  EXPECT_EQ(producer_wakes, 1);
  EXPECT_TRUE(stream.Reserve(chunk));
}

TEST(ResponseStream, CancellingStopsTheProducerAndDropsWhatIsQueued) {
  ResponseStream stream;
  int producer_wakes = 0;
  int consumer_wakes = 0;
  stream.SetProducerWake([&] { ++producer_wakes; });
  stream.SetConsumerWake([&] { ++consumer_wakes; });
  stream.Reserve(3);
  stream.Push("abc");
  stream.Cancel();
  EXPECT_EQ(producer_wakes, 1);
  EXPECT_TRUE(stream.cancelled());
  EXPECT_FALSE(stream.Reserve(1));
  EXPECT_TRUE(stream.Take().bytes.empty());  // "abc" was dropped
  stream.Push("more");
  stream.Finish(true);
  EXPECT_EQ(consumer_wakes, 0);  // the consumer's wake-up was let go
  EXPECT_TRUE(stream.Take().bytes.empty());
  stream.Cancel();
  EXPECT_EQ(producer_wakes, 1);  // once
}

TEST(ResponseStream, AFailureReachesTheConsumerWithWhatCameBeforeIt) {
  ResponseStream stream;
  int consumer_wakes = 0;
  stream.SetConsumerWake([&] { ++consumer_wakes; });
  EXPECT_TRUE(stream.Take().bytes.empty());  // nothing yet: the consumer waits
  stream.Reserve(1);
  stream.Push("a");
  EXPECT_EQ(consumer_wakes, 1);
  stream.Finish(false, ResponseStream::Failure{"TypeError", "boom", false});
  stream.Finish(true);  // ignored: the body already ended
  ResponseStream::Taken taken = stream.Take();
  EXPECT_EQ(taken.bytes, "a");
  EXPECT_TRUE(taken.ended);
  EXPECT_TRUE(taken.failed);
  EXPECT_EQ(taken.failure.name, "TypeError");
  EXPECT_EQ(taken.failure.message, "boom");
  EXPECT_FALSE(taken.failure.reset);
}

TEST(ResponseStream, ANormalEndCarriesNoFailure) {
  ResponseStream stream;
  stream.Reserve(2);
  stream.Push("ok");
  stream.Finish(true, ResponseStream::Failure{"Error", "ignored", true});
  ResponseStream::Taken taken = stream.Take();
  EXPECT_EQ(taken.bytes, "ok");
  EXPECT_TRUE(taken.ended);
  EXPECT_FALSE(taken.failed);
  EXPECT_TRUE(taken.failure.name.empty());
  EXPECT_TRUE(taken.failure.message.empty());
}

}  // namespace
}  // namespace dorm::runtime
