#include "cluster/rendezvous.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace dorm::cluster {
namespace {

std::vector<std::string> Nodes(int n) {
  std::vector<std::string> nodes;
  for (int i = 0; i < n; ++i) nodes.push_back("node-" + std::to_string(i));
  return nodes;
}

std::string ObjectName(int i) { return "app/Counter/" + std::to_string(i * 7919) + "abc"; }

std::string Pick(const std::vector<std::string>& nodes, const std::string& object) {
  return nodes[*RendezvousPick(nodes, object)];
}

TEST(RendezvousTest, NoNodesPicksNothing) {
  EXPECT_FALSE(RendezvousPick({}, "app/Counter/x").has_value());
}

TEST(RendezvousTest, OneNodeTakesEverything) {
  for (int i = 0; i < 100; ++i) EXPECT_EQ(RendezvousPick({"solo"}, ObjectName(i)), 0u);
}

TEST(RendezvousTest, ScoresAreFixedValues) {
  // The same on every node and every build: nodes must agree without talking.
  EXPECT_EQ(RendezvousScore("a", "x"), RendezvousScore("a", "x"));
  EXPECT_NE(RendezvousScore("ab", "c"), RendezvousScore("a", "bc"));
  EXPECT_NE(RendezvousScore("a", "x"), RendezvousScore("b", "x"));
  EXPECT_NE(RendezvousScore("a", "x"), RendezvousScore("a", "y"));
}

TEST(RendezvousTest, StableWhateverTheOrderOfTheNodes) {
  std::vector<std::string> nodes = Nodes(5);
  std::vector<std::string> reversed(nodes.rbegin(), nodes.rend());
  std::vector<std::string> rotated = nodes;
  std::rotate(rotated.begin(), rotated.begin() + 2, rotated.end());
  for (int i = 0; i < 2000; ++i) {
    const std::string object = ObjectName(i);
    const std::string first = Pick(nodes, object);
    EXPECT_EQ(Pick(nodes, object), first);
    EXPECT_EQ(Pick(reversed, object), first);
    EXPECT_EQ(Pick(rotated, object), first);
  }
}

TEST(RendezvousTest, SpreadsObjectsEvenly) {
  for (int n : {2, 3, 5, 8}) {
    std::vector<std::string> nodes = Nodes(n);
    std::map<std::string, int> counts;
    const int objects = 20000;
    for (int i = 0; i < objects; ++i) ++counts[Pick(nodes, ObjectName(i))];
    ASSERT_EQ(counts.size(), static_cast<size_t>(n));
    const double expected = static_cast<double>(objects) / n;
    for (const auto& [node, count] : counts) {
      // Binomial spread: a few percent at most for these sizes; 10% is far outside chance.
      EXPECT_NEAR(count, expected, expected * 0.1) << n << " nodes, " << node;
    }
  }
}

TEST(RendezvousTest, AJoiningNodeTakesOnlyItsShare) {
  std::vector<std::string> before = Nodes(4);
  std::vector<std::string> after = before;
  after.push_back("node-new");
  const int objects = 20000;
  int moved = 0;
  for (int i = 0; i < objects; ++i) {
    const std::string object = ObjectName(i);
    const std::string was = Pick(before, object);
    const std::string now = Pick(after, object);
    if (was != now) {
      ++moved;
      EXPECT_EQ(now, "node-new") << object << " moved between two old nodes";
    }
  }
  EXPECT_NEAR(moved, objects / 5.0, objects / 5.0 * 0.1);
}

TEST(RendezvousTest, ALeavingNodeGivesUpOnlyItsOwn) {
  std::vector<std::string> before = Nodes(5);
  std::vector<std::string> after = before;
  after.erase(after.begin() + 2);  // node-2 leaves
  std::map<std::string, int> received;
  int moved = 0;
  const int objects = 20000;
  for (int i = 0; i < objects; ++i) {
    const std::string object = ObjectName(i);
    const std::string was = Pick(before, object);
    const std::string now = Pick(after, object);
    if (was == "node-2") {
      ++moved;
      ++received[now];
    } else {
      EXPECT_EQ(now, was) << object << " moved although its node stayed";
    }
  }
  // Its objects spread over the four that stay, not onto one of them.
  ASSERT_EQ(received.size(), 4u);
  for (const auto& [node, count] : received) EXPECT_NEAR(count, moved / 4.0, moved / 4.0 * 0.2);
}

TEST(RendezvousTest, EveryNodeAgreesFromAnyListOrder) {
  // Exhaustive over every permutation of 4 nodes for a set of objects.
  std::vector<std::string> nodes = Nodes(4);
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) expected.push_back(Pick(nodes, ObjectName(i)));
  std::sort(nodes.begin(), nodes.end());
  do {
    for (int i = 0; i < 200; ++i) ASSERT_EQ(Pick(nodes, ObjectName(i)), expected[i]);
  } while (std::next_permutation(nodes.begin(), nodes.end()));
}

}  // namespace
}  // namespace dorm::cluster
