// AppLog: the ring's line and byte bounds, `since` and filters on the kept lines, and a client
// that does not read: its lines are dropped (never waited for) and it is told how many once it
// drains.
#include "runtime/app_log.h"

#include <gtest/gtest.h>

#include <string>

namespace dorm::runtime {
namespace {

TailLineView Console(std::string_view message, TailLevel level = TailLevel::kLog) {
  TailLineView line;
  line.kind = TailKind::kConsole;
  line.level = level;
  line.message = message;
  line.class_name = "probe";
  line.object_id = "00ff";
  line.instance_name = "alice";
  return line;
}

TEST(AppLogTest, KeepsTheLastLinesWithinTheLineLimit) {
  AppLog log("app", AppLogLimits{3, 1u << 20, 4, {}});
  for (int i = 0; i < 5; ++i) log.Add(Console("line " + std::to_string(i)));
  std::vector<std::string> lines = log.Recent(TailFilter(), 1, 100);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("\"message\":\"line 2\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[2].find("\"message\":\"line 4\""), std::string::npos) << lines[2];
  // `limit` keeps the most recent ones.
  lines = log.Recent(TailFilter(), 1, 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("line 4"), std::string::npos);
}

TEST(AppLogTest, KeepsWithinTheByteLimitAndCutsLongMessages) {
  AppLog log("app", AppLogLimits{1000, 64u << 10, 4, {}});
  const std::string big(40u << 10, 'x');
  for (int i = 0; i < 4; ++i) log.Add(Console(big));
  std::vector<std::string> lines = log.Recent(TailFilter(), 1, 100);
  // A message is cut to 16 KiB (and an ellipsis); 64 KiB hold three such lines, not four.
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_LT(lines[0].size(), (16u << 10) + 300);
  EXPECT_NE(lines[0].find("x\xE2\x80\xA6\""), std::string::npos);
}

TEST(AppLogTest, FiltersAndSince) {
  AppLog log("app", AppLogLimits{});
  log.Add(Console("quiet", TailLevel::kLog));
  log.Add(Console("loud", TailLevel::kWarn));
  TailFilter warn;
  ASSERT_FALSE(ParseTailLevels("warn,error", &warn.levels));
  std::vector<std::string> lines = log.Recent(warn, 1, 100);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].substr(lines[0].find("\"type\"")),
            "\"type\":\"console\",\"level\":\"warn\",\"message\":\"loud\"}");
  TailFilter other_object;
  other_object.object = "bob";
  EXPECT_TRUE(log.Recent(other_object, 1, 100).empty());
  TailFilter by_name;
  by_name.object = "alice";
  EXPECT_EQ(log.Recent(by_name, 1, 100).size(), 2u);
  // Lines older than `since` are not given.
  EXPECT_TRUE(log.Recent(TailFilter(), 1ll << 50, 100).empty());
  TailFilter none;
  none.sampling = 0;
  EXPECT_TRUE(log.Recent(none, 1, 100).empty());
}

TEST(AppLogTest, AStalledClientLosesLinesAndIsToldHowMany) {
  auto log = std::make_shared<AppLog>("app", AppLogLimits{});
  auto stream = std::make_shared<ResponseStream>();
  ASSERT_TRUE(log->Subscribe(TailFilter(), 0, stream));
  const std::string text(1000, 'y');
  // Far more than the stream holds: Add never waits.
  for (int i = 0; i < 1000; ++i) log->Add(Console(text));
  ResponseStream::Taken taken = stream->Take();
  EXPECT_LT(taken.bytes.size(), ResponseStream::kHighWater + 2000);
  const size_t kept = (taken.bytes.size() - 11) / (text.size() + 120);
  EXPECT_GT(kept, 100u);
  EXPECT_LT(kept, 1000u);
  // The client has written what it took: it hears of the lines it lost, then gets new ones.
  stream->Consumed(taken.bytes.size());
  log->Add(Console("after"));
  taken = stream->Take();
  ASSERT_EQ(taken.bytes.rfind("data: {\"dropped\":", 0), 0u) << taken.bytes.substr(0, 100);
  const long dropped = std::stol(taken.bytes.substr(17));
  EXPECT_GT(dropped, 0);
  EXPECT_NE(taken.bytes.find("\"message\":\"after\""), std::string::npos);
  // A cancelled client goes.
  EXPECT_EQ(log->client_count(), 1u);
  stream->Cancel();
  EXPECT_EQ(log->client_count(), 0u);
}

TEST(AppLogTest, RefusesClientsPastTheLimit) {
  auto log = std::make_shared<AppLog>("app", AppLogLimits{10, 1u << 20, 2, {}});
  auto a = std::make_shared<ResponseStream>();
  auto b = std::make_shared<ResponseStream>();
  auto c = std::make_shared<ResponseStream>();
  EXPECT_TRUE(log->Subscribe(TailFilter(), 0, a));
  EXPECT_TRUE(log->Subscribe(TailFilter(), 0, b));
  EXPECT_FALSE(log->Subscribe(TailFilter(), 0, c));
  a->Cancel();
  EXPECT_TRUE(log->Subscribe(TailFilter(), 0, c));
}

TEST(TailLineTest, ParsesStatusesAndDurations) {
  std::vector<TailFilter::StatusRange> statuses;
  ASSERT_FALSE(ParseTailStatuses("5xx,404,ok", &statuses));
  ASSERT_EQ(statuses.size(), 3u);
  EXPECT_EQ(statuses[0].low, 500);
  EXPECT_EQ(statuses[0].high, 599);
  EXPECT_EQ(statuses[1].low, 404);
  EXPECT_EQ(statuses[2].high, 399);
  EXPECT_TRUE(ParseTailStatuses("6xx", &statuses));
  EXPECT_TRUE(ParseTailStatuses("40", &statuses));
  EXPECT_EQ(ParseTailDuration("5m"), 300000);
  EXPECT_EQ(ParseTailDuration("500ms"), 500);
  EXPECT_EQ(ParseTailDuration("2h"), 7200000);
  EXPECT_FALSE(ParseTailDuration("m"));
  EXPECT_FALSE(ParseTailDuration("5w"));
  EXPECT_EQ(TailPathOf("http://host:1/a/b?c=1#frag"), "/a/b?c=1");
  EXPECT_EQ(TailPathOf("http://host"), "/");
}

}  // namespace
}  // namespace dorm::runtime
