#include "control/admin_ui.h"

#include <gtest/gtest.h>

#include <string>

namespace dorm::control {
namespace {

runtime::HttpRequestData Head(const std::string& method, const std::string& target) {
  runtime::HttpRequestData r;
  r.method = method;
  r.url = target;
  return r;
}

std::string Header(const runtime::HttpResponseData& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(AdminUiTest, ServesOnlyItsOwnPaths) {
  EXPECT_FALSE(ServeDashboard(Head("GET", "/_admin/v1/apps")));
  EXPECT_FALSE(ServeDashboard(Head("GET", "/_admin/uix")));
  EXPECT_FALSE(ServeDashboard(Head("GET", "/_admin/u")));
  EXPECT_FALSE(ServeDashboard(Head("GET", "/_admin")));
  for (const char* page : {"/_admin/ui", "/_admin/ui/", "/_admin/ui?x=1", "/_admin/ui/#top"}) {
    auto r = ServeDashboard(Head("GET", page));
    ASSERT_TRUE(r) << page;
    EXPECT_EQ(r->status, 200) << page;
    EXPECT_EQ(Header(*r, "content-type"), "text/html; charset=utf-8") << page;
    EXPECT_NE(r->body.find("<script src=\"/_admin/ui/app.js\" defer></script>"), std::string::npos);
  }
  auto script = ServeDashboard(Head("GET", "/_admin/ui/app.js"));
  ASSERT_TRUE(script);
  EXPECT_EQ(Header(*script, "content-type"), "text/javascript; charset=utf-8");
  EXPECT_GT(script->body.size(), 1000u);
  auto missing = ServeDashboard(Head("GET", "/_admin/ui/../v1/apps"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto post = ServeDashboard(Head("POST", "/_admin/ui"));
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(Header(*post, "allow"), "GET");
}

TEST(AdminUiTest, EveryAnswerForbidsFramingAndInlineScript) {
  for (const char* target : {"/_admin/ui", "/_admin/ui/app.css", "/_admin/ui/nope"}) {
    auto r = ServeDashboard(Head("GET", target));
    ASSERT_TRUE(r) << target;
    const std::string csp = Header(*r, "content-security-policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << target;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << target;
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << target;
    EXPECT_EQ(Header(*r, "x-frame-options"), "DENY") << target;
    EXPECT_EQ(Header(*r, "x-content-type-options"), "nosniff") << target;
  }
}

}  // namespace
}  // namespace dorm::control
