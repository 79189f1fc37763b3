#include "runtime/app_counted_map.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <unordered_map>

namespace dorm::runtime {
namespace {

struct Record {
  const AppIsolate* app;
  int value;
};
struct AppOfRecord {
  const AppIsolate* operator()(const Record& record) const { return record.app; }
};
using Records = AppCountedMap<std::unordered_map<int, Record>, AppOfRecord>;

// Distinct addresses stand for apps; they are only compared.
const AppIsolate* App(int n) {
  static char apps[4];
  return reinterpret_cast<const AppIsolate*>(&apps[n]);
}

TEST(AppCountedMap, CountsEachAppsRecordsThroughInsertsAndErasures) {
  Records records;
  EXPECT_EQ(records.CountFor(App(0)), 0u);
  EXPECT_TRUE(records.emplace(1, Record{App(0), 10}).second);
  EXPECT_TRUE(records.emplace(2, Record{App(0), 20}).second);
  EXPECT_TRUE(records.emplace(3, Record{App(1), 30}).second);
  // A key already present changes nothing.
  EXPECT_FALSE(records.emplace(1, Record{App(1), 11}).second);
  EXPECT_EQ(records.find(1)->second.value, 10);
  EXPECT_EQ(records.CountFor(App(0)), 2u);
  EXPECT_EQ(records.CountFor(App(1)), 1u);
  EXPECT_EQ(records.CountFor(App(2)), 0u);

  EXPECT_EQ(records.erase(1), 1u);
  EXPECT_EQ(records.erase(1), 0u);
  EXPECT_EQ(records.CountFor(App(0)), 1u);
  // Erasing through iterators, as the sweeps of one app's records do.
  for (auto it = records.begin(); it != records.end();) {
    it = it->second.app == App(1) ? records.erase(it) : std::next(it);
  }
  EXPECT_EQ(records.CountFor(App(1)), 0u);
  EXPECT_EQ(records.CountFor(App(0)), 1u);
  EXPECT_EQ(records.size(), 1u);

  records.clear();
  EXPECT_TRUE(records.empty());
  EXPECT_EQ(records.CountFor(App(0)), 0u);
  // Counting starts again from nothing after a clear.
  records.emplace(5, Record{App(0), 50});
  EXPECT_EQ(records.CountFor(App(0)), 1u);
}

TEST(AppCountedMap, WorksOverAnOrderedMapOfOwnedRecords) {
  struct AppOfOwned {
    const AppIsolate* operator()(const std::unique_ptr<Record>& record) const {
      return record->app;
    }
  };
  AppCountedMap<std::map<int, std::unique_ptr<Record>>, AppOfOwned> timers;
  timers.emplace(2, std::make_unique<Record>(Record{App(3), 2}));
  timers.emplace(1, std::make_unique<Record>(Record{App(3), 1}));
  EXPECT_EQ(timers.begin()->first, 1);
  EXPECT_EQ(timers.CountFor(App(3)), 2u);
  timers.erase(timers.find(2));
  EXPECT_EQ(timers.CountFor(App(3)), 1u);
}

}  // namespace
}  // namespace dorm::runtime
