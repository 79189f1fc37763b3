#include "storage/wal_frame_writes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dorm::storage {
namespace {

struct Call {
  std::string bytes;
  sqlite3_int64 offset;
};

// The file's writes as made, failing when told to.
struct Recorder {
  std::vector<Call> calls;
  int fail_with = SQLITE_OK;
  int operator()(const void* buffer, int amount, sqlite3_int64 offset) {
    Call& call = calls.emplace_back();
    call.bytes.assign(static_cast<const char*>(buffer), static_cast<size_t>(amount));
    call.offset = offset;
    return fail_with;
  }
};

const std::string kHeader(PendingFrameHeader::kSize, 'h');
const std::string kPage(4096, 'p');

int Write(PendingFrameHeader* pending, Recorder* recorder, const std::string& bytes,
          sqlite3_int64 offset) {
  return WriteJoiningFrames(
      pending, bytes.data(), static_cast<int>(bytes.size()), offset,
      [recorder](const void* b, int n, sqlite3_int64 o) { return (*recorder)(b, n, o); });
}

int Flush(PendingFrameHeader* pending, Recorder* recorder) {
  return WritePendingFrameHeader(
      pending, [recorder](const void* b, int n, sqlite3_int64 o) { return (*recorder)(b, n, o); });
}

TEST(WalFrameWritesTest, AHeaderAndThePageAfterItAreOneWrite) {
  PendingFrameHeader pending;
  Recorder recorder;
  EXPECT_EQ(Write(&pending, &recorder, kHeader, 32), SQLITE_OK);
  EXPECT_TRUE(recorder.calls.empty());
  EXPECT_EQ(Write(&pending, &recorder, kPage, 32 + 24), SQLITE_OK);
  ASSERT_EQ(recorder.calls.size(), 1u);
  EXPECT_EQ(recorder.calls[0].offset, 32);
  EXPECT_EQ(recorder.calls[0].bytes, kHeader + kPage);
  EXPECT_FALSE(pending.held);
  // Nothing left to write.
  EXPECT_EQ(Flush(&pending, &recorder), SQLITE_OK);
  EXPECT_EQ(recorder.calls.size(), 1u);
}

TEST(WalFrameWritesTest, OtherWritesPassThrough) {
  PendingFrameHeader pending;
  Recorder recorder;
  const std::string log_header(32, 'w');  // the log's own header: 32 bytes
  EXPECT_EQ(Write(&pending, &recorder, log_header, 0), SQLITE_OK);
  EXPECT_EQ(Write(&pending, &recorder, kPage, 8192), SQLITE_OK);
  ASSERT_EQ(recorder.calls.size(), 2u);
  EXPECT_EQ(recorder.calls[0].bytes, log_header);
  EXPECT_EQ(recorder.calls[1].offset, 8192);
  EXPECT_FALSE(pending.held);
}

TEST(WalFrameWritesTest, AHeaderNotFollowedByItsPageIsWrittenAloneFirst) {
  PendingFrameHeader pending;
  Recorder recorder;
  // As when SQLite rewrites the checksums of frames: headers only, each at its own place.
  EXPECT_EQ(Write(&pending, &recorder, kHeader, 32), SQLITE_OK);
  EXPECT_EQ(Write(&pending, &recorder, kHeader, 32 + 4120), SQLITE_OK);
  ASSERT_EQ(recorder.calls.size(), 1u);
  EXPECT_EQ(recorder.calls[0].bytes, kHeader);
  EXPECT_EQ(recorder.calls[0].offset, 32);
  // Before a read, a sync or a close, the caller writes what is held.
  EXPECT_TRUE(pending.held);
  EXPECT_EQ(Flush(&pending, &recorder), SQLITE_OK);
  ASSERT_EQ(recorder.calls.size(), 2u);
  EXPECT_EQ(recorder.calls[1].offset, 32 + 4120);
  EXPECT_FALSE(pending.held);
}

TEST(WalFrameWritesTest, AWriteElsewhereAfterAHeaderKeepsTheOrder) {
  PendingFrameHeader pending;
  Recorder recorder;
  EXPECT_EQ(Write(&pending, &recorder, kHeader, 32), SQLITE_OK);
  EXPECT_EQ(Write(&pending, &recorder, kPage, 100000), SQLITE_OK);
  ASSERT_EQ(recorder.calls.size(), 2u);
  EXPECT_EQ(recorder.calls[0].bytes, kHeader);
  EXPECT_EQ(recorder.calls[1].offset, 100000);
  EXPECT_FALSE(pending.held);
}

TEST(WalFrameWritesTest, ErrorsReachTheCaller) {
  PendingFrameHeader pending;
  Recorder recorder;
  EXPECT_EQ(Write(&pending, &recorder, kHeader, 32), SQLITE_OK);
  recorder.fail_with = SQLITE_IOERR_WRITE;
  EXPECT_EQ(Write(&pending, &recorder, kPage, 56), SQLITE_IOERR_WRITE);
  EXPECT_FALSE(pending.held);

  // A held header that fails alone fails the write that pushed it out, which is not made.
  recorder.calls.clear();
  recorder.fail_with = SQLITE_OK;
  EXPECT_EQ(Write(&pending, &recorder, kHeader, 32), SQLITE_OK);
  recorder.fail_with = SQLITE_IOERR_WRITE;
  EXPECT_EQ(Write(&pending, &recorder, kPage, 9000), SQLITE_IOERR_WRITE);
  EXPECT_EQ(recorder.calls.size(), 1u);
  EXPECT_FALSE(pending.held);
}

TEST(WalFrameWritesTest, LargePagesAreJoinedToo) {
  PendingFrameHeader pending;
  Recorder recorder;
  const std::string page(65536, 'q');
  EXPECT_EQ(Write(&pending, &recorder, kHeader, 32), SQLITE_OK);
  EXPECT_EQ(Write(&pending, &recorder, page, 56), SQLITE_OK);
  ASSERT_EQ(recorder.calls.size(), 1u);
  EXPECT_EQ(recorder.calls[0].bytes, kHeader + page);
}

}  // namespace
}  // namespace dorm::storage
