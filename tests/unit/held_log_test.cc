#include "storage/held_log.h"

#include <gtest/gtest.h>

#include <string>

namespace dorm::storage {
namespace {

std::string ReadBack(const HeldLog& log, size_t amount, uint64_t offset, bool* full) {
  std::string out(amount, 'x');
  *full = log.Read(out.data(), amount, offset);
  return out;
}

TEST(HeldLogTest, ReadsWhatWasWrittenAndZerosPastTheEnd) {
  HeldLog log;
  bool full = false;
  EXPECT_EQ(ReadBack(log, 4, 0, &full), std::string(4, '\0'));
  EXPECT_FALSE(full);  // an empty file: a short read, zero-filled
  ASSERT_TRUE(log.Write("abcd", 4, 0));
  ASSERT_TRUE(log.Write("XY", 2, 6));  // past the end: a gap of zeros
  EXPECT_EQ(log.size(), 8u);
  EXPECT_EQ(log.bytes(), std::string("abcd\0\0XY", 8));
  EXPECT_EQ(ReadBack(log, 3, 1, &full), "bcd");
  EXPECT_TRUE(full);
  EXPECT_EQ(ReadBack(log, 4, 6, &full), std::string("XY\0\0", 4));
  EXPECT_FALSE(full);
  EXPECT_EQ(ReadBack(log, 2, 100, &full), std::string(2, '\0'));
  EXPECT_FALSE(full);
  ASSERT_TRUE(log.Write("Z", 1, 2));  // overwrite inside
  EXPECT_EQ(log.bytes(), std::string("abZd\0\0XY", 8));
  ASSERT_TRUE(log.Write("", 0, 3));
  EXPECT_EQ(log.size(), 8u);
}

TEST(HeldLogTest, TruncationCutsOrExtendsWithZeros) {
  HeldLog log;
  ASSERT_TRUE(log.Write("abcdef", 6, 0));
  ASSERT_TRUE(log.Truncate(2));
  EXPECT_EQ(log.bytes(), "ab");
  ASSERT_TRUE(log.Truncate(4));
  EXPECT_EQ(log.bytes(), std::string("ab\0\0", 4));
  ASSERT_TRUE(log.Truncate(0));
  EXPECT_EQ(log.size(), 0u);
}

TEST(HeldLogTest, RefusesToGrowPastItsLimitAndChangesNothing) {
  HeldLog log;
  const std::string page(4096, 'p');
  ASSERT_TRUE(log.Write(page.data(), page.size(), 0));
  const std::string end(8, 'e');
  EXPECT_TRUE(log.Write(end.data(), end.size(), HeldLog::kMaxBytes - end.size()));
  EXPECT_EQ(log.size(), HeldLog::kMaxBytes);
  EXPECT_FALSE(log.Write(end.data(), end.size(), HeldLog::kMaxBytes - end.size() + 1));
  EXPECT_FALSE(log.Write(end.data(), 1, HeldLog::kMaxBytes));
  EXPECT_FALSE(log.Write(end.data(), 1, ~uint64_t{0}));  // no wrap-around
  EXPECT_FALSE(log.Truncate(HeldLog::kMaxBytes + 1));
  EXPECT_EQ(log.size(), HeldLog::kMaxBytes);
  EXPECT_EQ(log.bytes().substr(0, 4096), page);
}

}  // namespace
}  // namespace dorm::storage
