#include "util/iso8601.h"

#include <gtest/gtest.h>

namespace dorm {
namespace {

TEST(Iso8601, ParsesDatesTimesFractionsAndZones) {
  EXPECT_EQ(ParseIso8601Ms("1970-01-01").value(), 0);
  EXPECT_EQ(ParseIso8601Ms("2025-01-31T00:00:00Z").value(), 1738281600000LL);
  EXPECT_EQ(ParseIso8601Ms("2025-01-31T00:00Z").value(), 1738281600000LL);
  EXPECT_EQ(ParseIso8601Ms("2025-01-31 00:00:00").value(), 1738281600000LL);
  EXPECT_EQ(ParseIso8601Ms("2025-01-31T00:00:00.25Z").value(), 1738281600250LL);
  EXPECT_EQ(ParseIso8601Ms("2025-01-31T02:00:00+02:00").value(), 1738281600000LL);
  EXPECT_EQ(ParseIso8601Ms("2025-01-30T22:30:00-0130").value(), 1738281600000LL);
  EXPECT_EQ(ParseIso8601Ms("2024-02-29").value(), 1709164800000LL);
}

TEST(Iso8601, RefusesAnythingElse) {
  for (const char* bad :
       {"", "yesterday", "2025-1-31", "2025-01-31T", "2025-01-31T25:00", "2025-02-30", "2025-13-01",
        "2025-01-31T00:00:00Q", "2025-01-31T00:00:00+2", "2025-01-31T00:00:00.Z", "1h",
        "2025-01-31T00:00:00Z junk"}) {
    EXPECT_FALSE(ParseIso8601Ms(bad).has_value()) << bad;
  }
}

TEST(Iso8601, FormatsUtcSeconds) {
  EXPECT_EQ(FormatIso8601(1738281600250LL), "2025-01-31T00:00:00Z");
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00Z");
  // The admin API's usage totals take a `since` as early as the year 1 and answer it back.
  EXPECT_EQ(FormatIso8601(-1), "1969-12-31T23:59:59Z");
  const std::optional<long long> year_one = ParseIso8601Ms("0001-01-01T00:00:00Z");
  ASSERT_TRUE(year_one.has_value());
  EXPECT_EQ(FormatIso8601(*year_one), "0001-01-01T00:00:00Z");
  for (const char* text :
       {"0999-12-31T23:59:59Z", "1969-07-20T20:17:40Z", "9999-12-31T23:59:59Z"}) {
    const std::optional<long long> ms = ParseIso8601Ms(text);
    ASSERT_TRUE(ms.has_value()) << text;
    EXPECT_EQ(FormatIso8601(*ms), text);
  }
}

}  // namespace
}  // namespace dorm
