#include "storage/read_ahead.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace dorm::storage {
namespace {

// A file in memory, counting the reads that reach it, with xRead's results.
struct FakeFile {
  std::string bytes;
  int reads = 0;
  int failing_reads = 0;  // the next this many reads fail with SQLITE_IOERR_READ

  static int Read(void* self, void* buffer, int amount, sqlite3_int64 offset) {
    auto* file = static_cast<FakeFile*>(self);
    ++file->reads;
    if (file->failing_reads > 0) {
      --file->failing_reads;
      return SQLITE_IOERR_READ;
    }
    std::memset(buffer, 0, static_cast<size_t>(amount));
    if (offset >= static_cast<sqlite3_int64>(file->bytes.size())) return SQLITE_IOERR_SHORT_READ;
    const size_t available = file->bytes.size() - static_cast<size_t>(offset);
    const size_t copied = std::min(available, static_cast<size_t>(amount));
    std::memcpy(buffer, file->bytes.data() + offset, copied);
    return copied == static_cast<size_t>(amount) ? SQLITE_OK : SQLITE_IOERR_SHORT_READ;
  }
  static int Size(void* self, sqlite3_int64* out) {
    *out = static_cast<sqlite3_int64>(static_cast<FakeFile*>(self)->bytes.size());
    return SQLITE_OK;
  }
};

constexpr int kPage = 4096;

std::string Pattern(size_t size, char salt) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i / kPage) * 7 + i % 251 + salt);
  return bytes;
}

// Reads page `index` of `file` through the read-ahead; expects SQLITE_OK and returns the page.
std::string ReadPage(ReadAheadState* state, FakeFile* file, int index) {
  std::string page(kPage, '\0');
  EXPECT_EQ(ReadWithReadAhead(state, page.data(), kPage, static_cast<sqlite3_int64>(index) * kPage,
                              &FakeFile::Read, &FakeFile::Size, file),
            SQLITE_OK);
  return page;
}

ReadAheadState NewState() {
  ReadAheadState state;
  state.id = NewReadAheadId();
  return state;
}

TEST(ReadAheadTest, PagesReadInOrderComeFromOneLargerRead) {
  FakeFile file{Pattern(64 * kPage, 1)};
  ReadAheadState state = NewState();
  for (int i = 0; i < 64; ++i) {
    ASSERT_EQ(ReadPage(&state, &file, i), file.bytes.substr(static_cast<size_t>(i) * kPage, kPage))
        << "page " << i;
  }
  // The first page alone (nothing read before it), then one read per 16 pages from the second.
  EXPECT_LE(file.reads, 1 + 64 / (kReadAheadBytes / kPage) + 1);
  EXPECT_GE(file.reads, 4);
}

TEST(ReadAheadTest, ScatteredReadsGoStraightToTheFile) {
  FakeFile file{Pattern(64 * kPage, 2)};
  ReadAheadState state = NewState();
  const int order[] = {10, 3, 40, 22, 7, 60, 1};
  for (int index : order) {
    ASSERT_EQ(ReadPage(&state, &file, index),
              file.bytes.substr(static_cast<size_t>(index) * kPage, kPage));
  }
  EXPECT_EQ(file.reads, 7);
}

TEST(ReadAheadTest, AWriteThroughTheFileDropsWhatWasReadAhead) {
  FakeFile file{Pattern(32 * kPage, 3)};
  ReadAheadState state = NewState();
  ReadPage(&state, &file, 0);
  ReadPage(&state, &file, 1);  // reads pages 1-16 ahead
  // The file changes under the buffer, through the file (the VFS invalidates before writing).
  InvalidateReadAhead(&state);
  std::memset(file.bytes.data() + 2 * kPage, 'x', kPage);
  EXPECT_EQ(ReadPage(&state, &file, 2), std::string(kPage, 'x'));
  EXPECT_EQ(ReadPage(&state, &file, 3), file.bytes.substr(3 * kPage, kPage));
}

TEST(ReadAheadTest, TwoFilesOnOneThreadNeverSeeEachOthersBytes) {
  FakeFile a{Pattern(32 * kPage, 4)};
  FakeFile b{Pattern(32 * kPage, 5)};
  ReadAheadState state_a = NewState();
  ReadAheadState state_b = NewState();
  for (int i = 0; i < 32; ++i) {
    ASSERT_EQ(ReadPage(&state_a, &a, i), a.bytes.substr(static_cast<size_t>(i) * kPage, kPage));
    ASSERT_EQ(ReadPage(&state_b, &b, i), b.bytes.substr(static_cast<size_t>(i) * kPage, kPage));
  }
}

TEST(ReadAheadTest, AFileReadAheadOnAnotherThreadAndWrittenThereIsReadAfresh) {
  // A file handed to another thread (the closer's checkpoint), written there and handed back:
  // what this thread read ahead before is stale.
  FakeFile file{Pattern(32 * kPage, 6)};
  ReadAheadState state = NewState();
  ReadPage(&state, &file, 0);
  ReadPage(&state, &file, 1);
  std::thread other([&] {
    ReadPage(&state, &file, 5);
    InvalidateReadAhead(&state);
    std::memset(file.bytes.data() + 4 * kPage, 'y', kPage);
  });
  other.join();
  EXPECT_EQ(ReadPage(&state, &file, 4), std::string(kPage, 'y'));
}

TEST(ReadAheadTest, TheFilesEndAndShortFilesAreReadAsWithoutIt) {
  FakeFile file{Pattern(5 * kPage + 100, 7)};
  ReadAheadState state = NewState();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(ReadPage(&state, &file, i), file.bytes.substr(static_cast<size_t>(i) * kPage, kPage));
  }
  // The last, partial page: a short read, zero-filled, as the file itself answers.
  std::string page(kPage, 'z');
  EXPECT_EQ(ReadWithReadAhead(&state, page.data(), kPage, 5 * kPage, &FakeFile::Read,
                              &FakeFile::Size, &file),
            SQLITE_IOERR_SHORT_READ);
  EXPECT_EQ(page.substr(0, 100), file.bytes.substr(5 * kPage));
  EXPECT_EQ(page.substr(100), std::string(kPage - 100, '\0'));
}

TEST(ReadAheadTest, AFailedReadAheadFallsBackToTheReadAskedFor) {
  FakeFile file{Pattern(32 * kPage, 8)};
  ReadAheadState state = NewState();
  ReadPage(&state, &file, 0);
  file.failing_reads = 1;  // the read-ahead of pages 1-16
  EXPECT_EQ(ReadPage(&state, &file, 1), file.bytes.substr(kPage, kPage));
  // Its error is the file's to give again.
  file.failing_reads = 2;
  std::string page(kPage, '\0');
  EXPECT_EQ(ReadWithReadAhead(&state, page.data(), kPage, 2 * kPage, &FakeFile::Read,
                              &FakeFile::Size, &file),
            SQLITE_IOERR_READ);
}

TEST(ReadAheadTest, OffForAFileWithoutAnIdAndForLargeReads) {
  FakeFile file{Pattern(64 * kPage, 9)};
  ReadAheadState off;  // id 0
  for (int i = 0; i < 8; ++i) ReadPage(&off, &file, i);
  EXPECT_EQ(file.reads, 8);
  ReadAheadState state = NewState();
  std::string large(kReadAheadBytes / 2, '\0');
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(ReadWithReadAhead(&state, large.data(), static_cast<int>(large.size()),
                                static_cast<sqlite3_int64>(i) * large.size(), &FakeFile::Read,
                                &FakeFile::Size, &file),
              SQLITE_OK);
    EXPECT_EQ(large, file.bytes.substr(i * large.size(), large.size()));
  }
  EXPECT_EQ(file.reads, 8 + 4);
}

}  // namespace
}  // namespace dorm::storage
