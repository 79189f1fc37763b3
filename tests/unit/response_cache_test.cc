// The Cache API's store (runtime/response_cache.h): keys kept apart per app and cache name,
// expiry, and least-recently-used eviction within an app's budget and the server's total.
#include "runtime/response_cache.h"

#include <gtest/gtest.h>

namespace dorm::runtime {
namespace {

ResponseCache::Entry Body(size_t bytes, int64_t expires_ms = 1000000) {
  ResponseCache::Entry entry;
  entry.status = 200;
  entry.headers = {{"content-type", "text/plain"}};
  entry.body.assign(bytes, 'x');
  entry.expires_ms = expires_ms;
  return entry;
}

TEST(ResponseCache, KeysAreKeptApartByAppAndCacheName) {
  ResponseCache cache(1 << 20, 1 << 20);
  cache.Put("one", "", "https://a/", Body(10));
  EXPECT_TRUE(cache.Match("one", "", "https://a/", 0).has_value());
  EXPECT_FALSE(cache.Match("two", "", "https://a/", 0).has_value());
  EXPECT_FALSE(cache.Match("one", "named:x", "https://a/", 0).has_value());
  EXPECT_FALSE(cache.Match("one", "", "https://a/other", 0).has_value());
  EXPECT_EQ(cache.Match("one", "", "https://a/", 0)->body.size(), 10u);
}

TEST(ResponseCache, ExpiredEntriesAreGoneAndDeleteSaysWhetherOneWasThere) {
  ResponseCache cache(1 << 20, 1 << 20);
  cache.Put("one", "", "https://a/", Body(10, 500));
  EXPECT_TRUE(cache.Match("one", "", "https://a/", 499).has_value());
  EXPECT_FALSE(cache.Match("one", "", "https://a/", 500).has_value());
  EXPECT_EQ(cache.BytesOf("one"), 0u);
  cache.Put("one", "", "https://b/", Body(10));
  EXPECT_TRUE(cache.Delete("one", "", "https://b/", 0));
  EXPECT_FALSE(cache.Delete("one", "", "https://b/", 0));
  EXPECT_EQ(cache.TotalBytes(), 0u);
}

TEST(ResponseCache, AnAppPastItsBudgetEvictsItsOwnLeastRecentlyUsedEntries) {
  ResponseCache cache(3000, 1 << 20);
  cache.Put("other", "", "https://o/", Body(1000));
  cache.Put("one", "", "https://1/", Body(1000));
  cache.Put("one", "", "https://2/", Body(1000));
  ASSERT_TRUE(cache.Match("one", "", "https://1/", 0).has_value());  // now the most recent
  cache.Put("one", "", "https://3/", Body(1000));
  EXPECT_TRUE(cache.Match("one", "", "https://1/", 0).has_value());
  EXPECT_FALSE(cache.Match("one", "", "https://2/", 0).has_value());
  EXPECT_TRUE(cache.Match("one", "", "https://3/", 0).has_value());
  EXPECT_TRUE(cache.Match("other", "", "https://o/", 0).has_value());  // never another app's
  EXPECT_LE(cache.BytesOf("one"), 3000u);
  // An entry larger than the budget is not kept, and the one it would replace is gone.
  cache.Put("one", "", "https://1/", Body(5000));
  EXPECT_FALSE(cache.Match("one", "", "https://1/", 0).has_value());
}

TEST(ResponseCache, TheServerTotalEvictsAnyonesLeastRecentlyUsed) {
  ResponseCache cache(1 << 20, 2500);
  cache.Put("one", "", "https://1/", Body(1000));
  cache.Put("two", "", "https://2/", Body(1000));
  cache.Put("three", "", "https://3/", Body(1000));
  EXPECT_FALSE(cache.Match("one", "", "https://1/", 0).has_value());
  EXPECT_TRUE(cache.Match("two", "", "https://2/", 0).has_value());
  EXPECT_TRUE(cache.Match("three", "", "https://3/", 0).has_value());
  EXPECT_LE(cache.TotalBytes(), 2500u);
}

// An app at its budget, with another app's entries filling the rest of the server's order behind
// its own, evicts exactly its own oldest entry per put. (Before, each such put walked the whole
// server's order under the cache's one lock, past every entry of every other app.)
TEST(ResponseCache, AnAppAtItsBudgetEvictsOnlyItsOwnOldestAmongManyOtherEntries) {
  constexpr int kOthers = 20000;
  ResponseCache cache(3000 * 1000, 1 << 30);  // the other app's ~2.5 MB fit
  for (int i = 0; i < kOthers; ++i)
    cache.Put("other", "", "https://o/" + std::to_string(i), Body(1));
  cache.Put("one", "", "https://keep/", Body(5000));
  for (int i = 0; i < 1000; ++i) {
    cache.Put("one", "", "https://n/" + std::to_string(i), Body(5000));
    // The entry read on every round stays; the app's other entries leave oldest first.
    ASSERT_TRUE(cache.Match("one", "", "https://keep/", 0).has_value()) << i;
    ASSERT_LE(cache.BytesOf("one"), 3000 * 1000u);
  }
  EXPECT_TRUE(cache.Match("one", "", "https://n/999", 0).has_value());
  EXPECT_FALSE(cache.Match("one", "", "https://n/300", 0).has_value());
  for (int i = 0; i < kOthers; i += 997) {
    EXPECT_TRUE(cache.Match("other", "", "https://o/" + std::to_string(i), 0).has_value()) << i;
  }
}

}  // namespace
}  // namespace dorm::runtime
