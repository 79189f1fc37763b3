#include "net/route.h"

#include <gtest/gtest.h>

namespace dorm::net {
namespace {

TEST(RouteTarget, ObjectWithRestAndQuery) {
  Route r = RouteTarget("/_do/counter/a/increment?x=1");
  ASSERT_EQ(r.kind, RouteKind::kObject);
  EXPECT_EQ(r.class_name, "counter");
  EXPECT_EQ(r.instance_id, "a");
  EXPECT_EQ(r.forwarded, "/increment?x=1");
}

TEST(RouteTarget, NothingAfterIdIsRoot) {
  Route r = RouteTarget("/_do/chat-room/lobby");
  ASSERT_EQ(r.kind, RouteKind::kObject);
  EXPECT_EQ(r.forwarded, "/");
  r = RouteTarget("/_do/chat-room/lobby?q=2");
  EXPECT_EQ(r.forwarded, "/?q=2");
  r = RouteTarget("/_do/chat-room/lobby/");
  EXPECT_EQ(r.forwarded, "/");
}

TEST(RouteTarget, PercentDecodesInstanceId) {
  Route r = RouteTarget("/_do/counter/user%2F42/get");
  ASSERT_EQ(r.kind, RouteKind::kObject);
  EXPECT_EQ(r.instance_id, "user/42");
  EXPECT_EQ(r.forwarded, "/get");
}

TEST(RouteTarget, InstanceIdLengthBounds) {
  EXPECT_EQ(RouteTarget("/_do/counter/" + std::string(1024, 'x')).kind, RouteKind::kObject);
  EXPECT_EQ(RouteTarget("/_do/counter/" + std::string(1025, 'x')).kind, RouteKind::kBadRequest);
  EXPECT_EQ(RouteTarget("/_do/counter//x").kind, RouteKind::kBadRequest);
  EXPECT_EQ(RouteTarget("/_do/counter").kind, RouteKind::kBadRequest);
  EXPECT_EQ(RouteTarget("/_do/counter/%zz").kind, RouteKind::kBadRequest);
}

TEST(RouteTarget, AdminAndUnknown) {
  Route r = RouteTarget("/_admin/v1/apps/default/classes");
  ASSERT_EQ(r.kind, RouteKind::kAdmin);
  EXPECT_EQ(r.admin_path, "/v1/apps/default/classes");
  EXPECT_EQ(RouteTarget("/").kind, RouteKind::kNotFound);
  EXPECT_EQ(RouteTarget("/_dox/a/b").kind, RouteKind::kNotFound);
  EXPECT_EQ(RouteTarget("/_do//a").kind, RouteKind::kNotFound);
}

// What an app's Worker may serve: every path outside `/_do/` and the admin API, and nothing
// under them, however malformed.
TEST(RouteTarget, OutsideObjectsIsForAWorker) {
  for (const char* target : {"/", "/rooms/lobby?x=1", "/_dox/a/b", "/_do", "/_adminx", "/do/a/b"}) {
    EXPECT_TRUE(RouteTarget(target).outside_objects) << target;
  }
  for (const char* target : {"/_do/", "/_do//a", "/_do/a", "/_do/a/b", "/_do/a/%zz", "/_admin",
                             "/_admin/v1/health"}) {
    EXPECT_FALSE(RouteTarget(target).outside_objects) << target;
  }
}

TEST(AppFromHost, SubdomainsNameApps) {
  auto exists = [](const std::string& app) { return app == "shop" || app == "game"; };
  EXPECT_EQ(AppFromHost("shop.localhost:8787", exists), "shop");
  EXPECT_EQ(AppFromHost("game.example.com", exists), "game");
  EXPECT_EQ(AppFromHost("GAME.example.com", exists), "game");
  EXPECT_EQ(AppFromHost("other.localhost", exists), "default");
  EXPECT_EQ(AppFromHost("localhost:8787", exists), "default");
  EXPECT_EQ(AppFromHost("127.0.0.1:8787", exists), "default");
  EXPECT_EQ(AppFromHost("[::1]:8787", exists), "default");
  EXPECT_EQ(AppFromHost("", exists), "default");
}

}  // namespace
}  // namespace dorm::net
