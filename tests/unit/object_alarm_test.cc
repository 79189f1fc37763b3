#include "runtime/object_alarm.h"

#include <gtest/gtest.h>

namespace dorm::runtime {
namespace {

using std::chrono::milliseconds;

TEST(ObjectAlarm, FailuresRetryWithDoublingDelaysThenGiveUp) {
  const milliseconds base(1000);
  EXPECT_FALSE(ObjectAlarm::Decide(true, 0, base).retry);
  EXPECT_FALSE(ObjectAlarm::Decide(true, 3, base).gave_up);
  for (int n = 0; n < ObjectAlarm::kMaxRetries; ++n) {
    ObjectAlarm::Decision d = ObjectAlarm::Decide(false, n, base);
    EXPECT_TRUE(d.retry) << n;
    EXPECT_FALSE(d.gave_up);
    EXPECT_EQ(d.retry_count, n + 1);
    EXPECT_EQ(d.delay, base * (1LL << n));
  }
  // A handler that throws on its last retry is dropped.
  ObjectAlarm::Decision last = ObjectAlarm::Decide(false, ObjectAlarm::kMaxRetries, base);
  EXPECT_FALSE(last.retry);
  EXPECT_TRUE(last.gave_up);
  EXPECT_TRUE(ObjectAlarm::Decide(false, ObjectAlarm::kMaxRetries + 5, base).gave_up);
  EXPECT_EQ(ObjectAlarm::Decide(false, -1, base).delay, base);
}

TEST(ObjectAlarm, RunsOnlyWhenTheStoredAlarmIsDue) {
  EXPECT_FALSE(ObjectAlarm::ShouldRun(std::nullopt, 1000));
  EXPECT_TRUE(ObjectAlarm::ShouldRun(1000, 1000));
  EXPECT_TRUE(ObjectAlarm::ShouldRun(500, 1000));
  EXPECT_TRUE(ObjectAlarm::ShouldRun(1000 + ObjectAlarm::kEarlyFireToleranceMs, 1000));
  EXPECT_FALSE(ObjectAlarm::ShouldRun(1000 + ObjectAlarm::kEarlyFireToleranceMs + 1, 1000));
}

TEST(ObjectAlarm, InsideTheHandlerItsOwnAlarmReadsAsGone) {
  ObjectAlarm alarm;
  EXPECT_EQ(alarm.Visible(5000), 5000);
  alarm.Begin(5000, 42);
  EXPECT_TRUE(alarm.running());
  EXPECT_EQ(alarm.event_id(), 42u);
  EXPECT_EQ(alarm.Visible(5000), std::nullopt);
  EXPECT_EQ(alarm.Visible(std::nullopt), std::nullopt);
  // A different stored value (set by a request before the handler) shows.
  EXPECT_EQ(alarm.Visible(7000), 7000);
  // Once the handler sets one (even the same time), it shows.
  alarm.NoteChanged();
  EXPECT_EQ(alarm.Visible(5000), 5000);
}

TEST(ObjectAlarm, ASuccessfulHandlerDeletesItsAlarmUnlessItWasChanged) {
  ObjectAlarm alarm;
  alarm.Begin(5000, 1);
  EXPECT_TRUE(alarm.DeleteOnSuccess(5000));
  EXPECT_FALSE(alarm.DeleteOnSuccess(6000));  // moved meanwhile
  EXPECT_FALSE(alarm.DeleteOnSuccess(std::nullopt));
  alarm.NoteDeletedByHandler();
  EXPECT_TRUE(alarm.TakeChanged());          // the commit updates the index ...
  EXPECT_TRUE(alarm.DeleteOnSuccess(5000));  // ... but that is no change made during the run
  ObjectAlarm::Finished finished = alarm.Finish(0);
  EXPECT_EQ(finished.alarm_ms, 5000);
  EXPECT_FALSE(finished.changed);
  EXPECT_FALSE(alarm.running());

  ObjectAlarm changed;
  changed.Begin(5000, 2);
  changed.NoteChanged();  // setAlarm() in the handler
  EXPECT_FALSE(changed.DeleteOnSuccess(5000));
  finished = changed.Finish(0);
  EXPECT_TRUE(finished.changed);
  // The next run starts clean.
  changed.Begin(8000, 3);
  EXPECT_TRUE(changed.DeleteOnSuccess(8000));
}

TEST(ObjectAlarm, UnchangedSinceBeginUntilTheAlarmIsSetOrDeleted) {
  ObjectAlarm alarm;
  EXPECT_FALSE(alarm.UnchangedSinceBegin()) << "no handler runs";
  alarm.NoteChanged();  // a change before the run does not count against it
  alarm.Begin(5000, 1);
  EXPECT_TRUE(alarm.UnchangedSinceBegin());
  EXPECT_EQ(alarm.running_alarm(), 5000);
  alarm.NoteDeletedByHandler();  // the handler's own deletion is no change made during the run
  EXPECT_TRUE(alarm.UnchangedSinceBegin());
  alarm.NoteChanged();  // setAlarm(), deleteAlarm() or deleteAll() in the handler
  EXPECT_FALSE(alarm.UnchangedSinceBegin());
  alarm.Finish(0);
  EXPECT_FALSE(alarm.UnchangedSinceBegin());
  alarm.Begin(8000, 2);
  EXPECT_TRUE(alarm.UnchangedSinceBegin()) << "the next run starts clean";
}

TEST(ObjectAlarm, FinishWithoutARunUsesTheFiredTime) {
  ObjectAlarm alarm;
  ObjectAlarm::Finished finished = alarm.Finish(1234);
  EXPECT_EQ(finished.alarm_ms, 1234);
  EXPECT_FALSE(finished.changed);
}

TEST(ObjectAlarm, ChangesOutsideAHandlerDoNotCountAsChangesDuringARun) {
  ObjectAlarm alarm;
  alarm.NoteChanged();
  alarm.Begin(5000, 1);
  EXPECT_TRUE(alarm.DeleteOnSuccess(5000));
}

TEST(ObjectAlarm, CommitsRecordTheStoredAlarmAndAskForOneIndexFlush) {
  ObjectAlarm alarm;
  EXPECT_FALSE(alarm.TakeChanged());
  EXPECT_FALSE(alarm.TakeIndexFlush());
  alarm.NoteChanged();
  EXPECT_TRUE(alarm.TakeChanged());
  EXPECT_FALSE(alarm.TakeChanged());  // once
  alarm.Committed(9000);
  EXPECT_EQ(alarm.stored(), 9000);
  EXPECT_TRUE(alarm.TakeIndexFlush());
  EXPECT_FALSE(alarm.TakeIndexFlush());
  alarm.Committed(std::nullopt);
  EXPECT_EQ(alarm.stored(), std::nullopt);
}

TEST(ObjectAlarm, DueSoonCoversTheWindowAroundTheStoredAlarm) {
  ObjectAlarm alarm;
  EXPECT_FALSE(alarm.DueSoon(0));
  alarm.Committed(100000);
  const long long w = ObjectAlarm::kKeepWarmMs;
  EXPECT_FALSE(alarm.DueSoon(100000 - w));
  EXPECT_TRUE(alarm.DueSoon(100000 - w + 1));
  EXPECT_TRUE(alarm.DueSoon(100000));
  EXPECT_TRUE(alarm.DueSoon(100000 + w - 1));
  // Long past due (being retried): pins nothing.
  EXPECT_FALSE(alarm.DueSoon(100000 + w));
}

TEST(ObjectAlarm, TheStoredAlarmIsKnownOnceReadFromTheDatabase) {
  ObjectAlarm alarm;
  EXPECT_FALSE(alarm.stored_known());
  // Read when a database was opened: known, and nothing to flush.
  alarm.Loaded(5000);
  EXPECT_TRUE(alarm.stored_known());
  EXPECT_EQ(alarm.stored(), 5000);
  EXPECT_FALSE(alarm.TakeIndexFlush());
  // A commit that deleted it: still known, now none.
  alarm.Committed(std::nullopt);
  EXPECT_TRUE(alarm.stored_known());
  EXPECT_EQ(alarm.stored(), std::nullopt);
  // Known from a commit alone too.
  ObjectAlarm other;
  other.Committed(std::nullopt);
  EXPECT_TRUE(other.stored_known());
}

}  // namespace
}  // namespace dorm::runtime
