#include "runtime/output_gate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dorm::runtime {
namespace {

HttpResponseData Body(const std::string& body) {
  HttpResponseData response;
  response.status = 200;
  response.body = body;
  return response;
}

OutputGate::SocketOutput Send(uint64_t socket, const std::string& text) {
  OutputGate::SocketOutput output;
  output.socket_id = socket;
  output.text = true;
  output.payload = std::make_shared<const std::string>(text);
  return output;
}

TEST(OutputGate, OutputsWithNothingToWaitForLeaveAtOnce) {
  OutputGate gate;
  std::vector<std::string> sent;
  gate.Emit(gate.RequiredSeq(false), Body("a"),
            [&](HttpResponseData r) { sent.push_back(r.body); });
  EXPECT_EQ(sent, std::vector<std::string>{"a"});
  EXPECT_TRUE(gate.AdmitSocketOutput(Send(1, "m"), false));
  EXPECT_EQ(gate.AddSyncWaiter(false), 0u);
  EXPECT_TRUE(gate.Quiet());
}

TEST(OutputGate, AResponseWaitsForTheCommitBeforeItAndLeavesWhenItIsDurable) {
  OutputGate gate;
  const uint64_t first = gate.Committed();
  EXPECT_EQ(first, 1u);
  std::vector<std::string> sent;
  gate.Emit(gate.RequiredSeq(false), Body("after-1"),
            [&](HttpResponseData r) { sent.push_back(r.body); });
  EXPECT_TRUE(sent.empty());
  EXPECT_FALSE(gate.Quiet());
  ASSERT_TRUE(gate.RequestFlush());
  EXPECT_FALSE(gate.FlushSucceeded(gate.commit_seq()));
  OutputGate::Released released = gate.TakeReleased();
  ASSERT_EQ(released.responses.size(), 1u);
  EXPECT_EQ(released.responses[0].response.body, "after-1");
  EXPECT_EQ(gate.durable_seq(), 1u);
  EXPECT_TRUE(gate.Quiet());
}

TEST(OutputGate, UncommittedWritesMakeAnOutputWaitForTheNextCommit) {
  OutputGate gate;
  EXPECT_EQ(gate.RequiredSeq(true), 1u);
  std::vector<std::string> sent;
  gate.Emit(gate.RequiredSeq(true), Body("x"), [&](HttpResponseData r) { sent.push_back(r.body); });
  EXPECT_TRUE(sent.empty());
  // A flush of nothing new does not release it.
  EXPECT_TRUE(gate.RequestFlush());
  gate.FlushSucceeded(0);
  EXPECT_TRUE(gate.TakeReleased().responses.empty());
  gate.Committed();
  EXPECT_TRUE(gate.RequestFlush());
  gate.FlushSucceeded(1);
  EXPECT_EQ(gate.TakeReleased().responses.size(), 1u);
}

TEST(OutputGate, OneFlushAtATimeAndCommitsDuringItAreFlushedNext) {
  OutputGate gate;
  gate.Committed();
  ASSERT_TRUE(gate.RequestFlush());  // flush of 1 starts
  EXPECT_TRUE(gate.flush_in_flight());
  gate.Committed();
  std::vector<std::string> sent;
  gate.Emit(gate.RequiredSeq(false), Body("needs-2"),
            [&](HttpResponseData r) { sent.push_back(r.body); });
  EXPECT_FALSE(gate.RequestFlush());    // waits for the running one
  EXPECT_TRUE(gate.FlushSucceeded(1));  // ... which asks for another
  EXPECT_TRUE(gate.TakeReleased().responses.empty());
  ASSERT_TRUE(gate.RequestFlush());
  EXPECT_FALSE(gate.FlushSucceeded(2));
  EXPECT_EQ(gate.TakeReleased().responses.size(), 1u);
  EXPECT_FALSE(gate.flush_in_flight());
}

TEST(OutputGate, ACommitThatWroteNothingIsDurableAtOnceWhenNothingBeforeItWaits) {
  OutputGate gate;
  std::vector<std::string> sent;
  // Emitted while its transaction was open: it waits for that transaction's commit.
  gate.Emit(gate.RequiredSeq(true), Body("x"), [&](HttpResponseData r) { sent.push_back(r.body); });
  const uint64_t waiter = gate.AddSyncWaiter(true);
  EXPECT_NE(waiter, 0u);
  EXPECT_TRUE(sent.empty());
  EXPECT_TRUE(gate.CommittedUnchanged());
  EXPECT_EQ(gate.commit_seq(), 1u);
  EXPECT_EQ(gate.durable_seq(), 1u);
  EXPECT_FALSE(gate.flush_in_flight());
  ASSERT_EQ(gate.TakeReleased().responses.size(), 1u);
  EXPECT_EQ(gate.TakeDurableWaiters(), std::vector<uint64_t>{waiter});
  EXPECT_TRUE(gate.Quiet());
}

TEST(OutputGate, ACommitThatWroteNothingWaitsForTheCommitsBeforeIt) {
  OutputGate gate;
  // A commit not flushed yet: the empty one after it cannot be durable before it is.
  gate.Committed();
  EXPECT_FALSE(gate.CommittedUnchanged());
  EXPECT_EQ(gate.durable_seq(), 0u);
  gate.Emit(gate.RequiredSeq(false), Body("needs-2"), [](HttpResponseData) {});
  ASSERT_TRUE(gate.RequestFlush());
  EXPECT_FALSE(gate.FlushSucceeded(gate.commit_seq()));
  EXPECT_EQ(gate.TakeReleased().responses.size(), 1u);

  // A flush running: not durable until the flush that follows it is done.
  gate.Committed();
  ASSERT_TRUE(gate.RequestFlush());  // flush of 3 starts
  EXPECT_FALSE(gate.CommittedUnchanged());
  EXPECT_EQ(gate.commit_seq(), 4u);
  gate.Emit(gate.RequiredSeq(false), Body("needs-4"), [](HttpResponseData) {});
  EXPECT_FALSE(gate.RequestFlush());
  EXPECT_TRUE(gate.FlushSucceeded(3));
  EXPECT_TRUE(gate.TakeReleased().responses.empty());
  ASSERT_TRUE(gate.RequestFlush());
  EXPECT_FALSE(gate.FlushSucceeded(4));
  EXPECT_EQ(gate.TakeReleased().responses.size(), 1u);

  // Everything durable again: the next empty commit is durable at once.
  EXPECT_TRUE(gate.CommittedUnchanged());
  EXPECT_EQ(gate.durable_seq(), 5u);
}

TEST(OutputGate, AnOlderFlushCompletingLateNeverMovesDurabilityBack) {
  OutputGate gate;
  gate.Committed();
  gate.Committed();
  ASSERT_TRUE(gate.RequestFlush());
  gate.FlushSucceeded(2);
  ASSERT_TRUE(gate.RequestFlush());
  gate.FlushSucceeded(1);
  EXPECT_EQ(gate.durable_seq(), 2u);
}

TEST(OutputGate, SocketOutputsNeverOvertakeEachOther) {
  OutputGate gate;
  gate.Committed();
  EXPECT_FALSE(gate.AdmitSocketOutput(Send(1, "after-commit"), false));
  gate.Committed();
  EXPECT_FALSE(gate.AdmitSocketOutput(Send(1, "after-second"), false));
  ASSERT_TRUE(gate.RequestFlush());
  gate.FlushSucceeded(1);
  OutputGate::Released released = gate.TakeReleased();
  ASSERT_EQ(released.socket_outputs.size(), 1u);
  EXPECT_EQ(*released.socket_outputs[0].payload, "after-commit");
  // Durable as far as needed, but an earlier output is held: this one queues behind it.
  OutputGate other;
  other.Committed();
  EXPECT_FALSE(other.AdmitSocketOutput(Send(1, "first"), false));
  ASSERT_TRUE(other.RequestFlush());
  other.FlushSucceeded(1);
  EXPECT_FALSE(other.AdmitSocketOutput(Send(1, "second"), false));
  released = other.TakeReleased();
  ASSERT_EQ(released.socket_outputs.size(), 2u);
  EXPECT_EQ(*released.socket_outputs[0].payload, "first");
  EXPECT_EQ(*released.socket_outputs[1].payload, "second");
  EXPECT_TRUE(other.AdmitSocketOutput(Send(1, "third"), false));
}

TEST(OutputGate, SyncWaitersResolveInOrderOnceTheirCommitIsDurable) {
  OutputGate gate;
  gate.Committed();
  const uint64_t a = gate.AddSyncWaiter(false);
  const uint64_t b = gate.AddSyncWaiter(true);  // waits for commit 2
  ASSERT_NE(a, 0u);
  ASSERT_NE(b, 0u);
  EXPECT_NE(a, b);
  EXPECT_FALSE(gate.HasDurableWaiters());
  ASSERT_TRUE(gate.RequestFlush());
  gate.FlushSucceeded(1);
  EXPECT_TRUE(gate.HasDurableWaiters());
  EXPECT_EQ(gate.TakeDurableWaiters(), std::vector<uint64_t>{a});
  EXPECT_TRUE(gate.HasWaiters());
  gate.Committed();
  ASSERT_TRUE(gate.RequestFlush());
  gate.FlushSucceeded(2);
  EXPECT_EQ(gate.TakeDurableWaiters(), std::vector<uint64_t>{b});
  EXPECT_FALSE(gate.HasWaiters());
}

TEST(OutputGate, AFailedFlushReleasesNothingAndTheResetFailsWhatWasHeld) {
  OutputGate gate;
  gate.Committed();
  std::vector<std::string> sent;
  gate.Emit(gate.RequiredSeq(false), Body("never"),
            [&](HttpResponseData r) { sent.push_back(r.body); });
  EXPECT_FALSE(gate.AdmitSocketOutput(Send(1, "never"), false));
  EXPECT_NE(gate.AddSyncWaiter(false), 0u);
  ASSERT_TRUE(gate.RequestFlush());
  gate.FlushFailed();
  EXPECT_FALSE(gate.flush_in_flight());
  EXPECT_EQ(gate.durable_seq(), 0u);
  OutputGate::Released released = gate.TakeReleased();
  EXPECT_TRUE(released.responses.empty());
  EXPECT_TRUE(released.socket_outputs.empty());
  std::vector<OutputGate::HeldResponse> failed = gate.TakeForReset();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].response.body, "never");
  EXPECT_TRUE(sent.empty());
  EXPECT_TRUE(gate.Quiet());
  EXPECT_FALSE(gate.HasWaiters());
  EXPECT_EQ(gate.held_count(), 0u);
}

}  // namespace
}  // namespace dorm::runtime
