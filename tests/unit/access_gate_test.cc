#include "net/access_gate.h"

#include <gtest/gtest.h>

#include <vector>

namespace dorm::net {
namespace {

using runtime::AccessMode;
using runtime::HeaderList;
using runtime::HttpRequestData;

std::vector<std::string> Values(const HeaderList& headers, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k == name) out.push_back(v);
  }
  return out;
}

TEST(AccessGate, ReadsBearerTokensFromAuthorization) {
  EXPECT_EQ(BearerFromAuthorization({{"Authorization", "Bearer abc.def"}}).value(), "abc.def");
  EXPECT_EQ(BearerFromAuthorization({{"authorization", "bearer   tok  "}}).value(), "tok");
  EXPECT_EQ(BearerFromAuthorization({{"AUTHORIZATION", "BEARER x"}}).value(), "x");
  EXPECT_FALSE(BearerFromAuthorization({{"authorization", "Basic dXNlcjpwdw=="}}).has_value());
  EXPECT_FALSE(BearerFromAuthorization({{"authorization", "Bearer "}}).has_value());
  EXPECT_FALSE(BearerFromAuthorization({{"authorization", "Bearertoken"}}).has_value());
  EXPECT_FALSE(BearerFromAuthorization({{"x-authorization", "Bearer t"}}).has_value());
  EXPECT_FALSE(BearerFromAuthorization({}).has_value());
}

TEST(AccessGate, TakesTheTokenEntryOutOfTheWebSocketProtocols) {
  HeaderList headers{{"Sec-WebSocket-Protocol", "chat, bearer.abc.def, v2"}, {"x", "y"}};
  EXPECT_EQ(TakeProtocolToken(headers).value(), "abc.def");
  EXPECT_EQ(Values(headers, "Sec-WebSocket-Protocol"), std::vector<std::string>{"chat, v2"});

  HeaderList only{{"sec-websocket-protocol", "bearer.tok"}, {"x", "y"}};
  EXPECT_EQ(TakeProtocolToken(only).value(), "tok");
  EXPECT_EQ(only, (HeaderList{{"x", "y"}}));

  HeaderList none{{"sec-websocket-protocol", "chat, Bearer.notatoken"}};
  EXPECT_FALSE(TakeProtocolToken(none).has_value());
  EXPECT_EQ(none, (HeaderList{{"sec-websocket-protocol", "chat, Bearer.notatoken"}}));

  // Every token entry goes, the first one counts.
  HeaderList two{{"sec-websocket-protocol", "bearer.first"},
                 {"sec-websocket-protocol", "a,bearer.second"}};
  EXPECT_EQ(TakeProtocolToken(two).value(), "first");
  EXPECT_EQ(two, (HeaderList{{"sec-websocket-protocol", "a"}}));
}

TEST(AccessGate, TakesTheTokenOutOfTheQuery) {
  std::string url = "http://h/room?x=1&access_token=abc.def&y=2";
  EXPECT_EQ(TakeQueryToken(url).value(), "abc.def");
  EXPECT_EQ(url, "http://h/room?x=1&y=2");

  url = "http://h/?access_token=a%2Eb";
  EXPECT_EQ(TakeQueryToken(url).value(), "a.b");
  EXPECT_EQ(url, "http://h/");

  url = "/p?access_token=one&access_token=two";
  EXPECT_EQ(TakeQueryToken(url).value(), "one");
  EXPECT_EQ(url, "/p");

  url = "http://h/p?my_access_token=x&access_tokens=y";
  EXPECT_FALSE(TakeQueryToken(url).has_value());
  EXPECT_EQ(url, "http://h/p?my_access_token=x&access_tokens=y");

  url = "http://h/p";
  EXPECT_FALSE(TakeQueryToken(url).has_value());
  EXPECT_EQ(url, "http://h/p");
}

TEST(AccessGate, DescriptionsAreSafeInAQuotedString) {
  EXPECT_EQ(HeaderSafeDescription("Token \"x\" \\ bad\r\n"), "Token 'x' ' bad");
  EXPECT_EQ(HeaderSafeDescription(std::string(500, 'a')).size(), 200u);
}

// Records what it was asked and answers with a fixed decision.
class FakeAuthorizer : public RequestAuthorizer {
 public:
  explicit FakeAuthorizer(AccessDecision decision) : decision_(std::move(decision)) {}
  AccessDecision Authorize(const std::string& app, AccessMode mode,
                           std::string_view bearer) const override {
    calls.push_back(app + "|" + runtime::AccessModeName(mode) + "|" + std::string(bearer));
    return decision_;
  }
  mutable std::vector<std::string> calls;

 private:
  AccessDecision decision_;
};

AccessDecision Decision(AccessDecision::Outcome outcome, std::string error = "",
                        std::string claims = "", std::string key_id = "") {
  AccessDecision d;
  d.outcome = outcome;
  d.error = std::move(error);
  d.claims_json = std::move(claims);
  d.service_key_id = std::move(key_id);
  return d;
}

class CheckObjectAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog.Set("app", {{"open", "Open", "", AccessMode::kPublic, "", "", "", {}},
                        {"users", "Users", "", AccessMode::kAuthenticated, "", "", "", {}},
                        {"backend", "Backend", "", AccessMode::kServiceKey, "", "", "", {}}});
  }
  HttpRequestData Request(const std::string& url, HeaderList headers) {
    HttpRequestData r;
    r.method = "GET";
    r.url = url;
    r.headers = std::move(headers);
    return r;
  }
  std::string Header(const runtime::HttpResponseData& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }
  runtime::ClassCatalog catalog;
};

TEST_F(CheckObjectAccessTest, PublicClassesOnlyLoseForgedServerHeaders) {
  FakeAuthorizer authorizer(Decision(AccessDecision::Outcome::kUnauthorized, "no"));
  HttpRequestData r =
      Request("http://h/?access_token=t", {{"X-Dorm-Auth-Claims", "{\"sub\":\"forged\"}"},
                                           {"x-dorm-service-key-id", "sk_forged"},
                                           {"authorization", "Bearer t"},
                                           {"sec-websocket-protocol", "bearer.t"}});
  EXPECT_FALSE(CheckObjectAccess(catalog, &authorizer, "app", "open", r).has_value());
  EXPECT_TRUE(authorizer.calls.empty());
  EXPECT_EQ(r.url, "http://h/?access_token=t");
  EXPECT_EQ(r.headers,
            (HeaderList{{"authorization", "Bearer t"}, {"sec-websocket-protocol", "bearer.t"}}));
}

TEST_F(CheckObjectAccessTest, UnknownClassesPassToTheRuntime) {
  HttpRequestData r = Request("http://h/", {{"x-dorm-auth-claims", "forged"}});
  EXPECT_FALSE(CheckObjectAccess(catalog, nullptr, "app", "missing", r).has_value());
  EXPECT_FALSE(CheckObjectAccess(catalog, nullptr, "other-app", "users", r).has_value());
  EXPECT_TRUE(r.headers.empty());
}

TEST_F(CheckObjectAccessTest, MissingCredentialIsA401WithoutErrorCode) {
  FakeAuthorizer authorizer(Decision(AccessDecision::Outcome::kAllow));
  for (const char* name : {"users", "backend"}) {
    HttpRequestData r = Request("http://h/", {{"authorization", "Basic abc"}});
    auto refused = CheckObjectAccess(catalog, &authorizer, "app", name, r);
    ASSERT_TRUE(refused.has_value()) << name;
    EXPECT_EQ(refused->status, 401);
    EXPECT_EQ(Header(*refused, "www-authenticate"), "Bearer realm=\"dorm\"");
    EXPECT_NE(refused->body.find("\"error\":\"Authentication required"), std::string::npos);
  }
  EXPECT_TRUE(authorizer.calls.empty());
}

TEST_F(CheckObjectAccessTest, RefusedCredentialIsA401WithInvalidToken) {
  FakeAuthorizer authorizer(
      Decision(AccessDecision::Outcome::kUnauthorized, "Token has \"expired\"."));
  HttpRequestData r = Request("http://h/", {{"authorization", "Bearer tok"}});
  auto refused = CheckObjectAccess(catalog, &authorizer, "app", "users", r);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(Header(*refused, "www-authenticate"),
            "Bearer realm=\"dorm\", error=\"invalid_token\", "
            "error_description=\"Token has 'expired'.\"");
  EXPECT_EQ(refused->body, R"({"error":"Token has \"expired\"."})");
  EXPECT_EQ(authorizer.calls, std::vector<std::string>{"app|authenticated|tok"});
}

TEST_F(CheckObjectAccessTest, ValidCredentialWithoutAccessIsA403) {
  FakeAuthorizer authorizer(Decision(AccessDecision::Outcome::kForbidden, "Another app's key."));
  HttpRequestData r = Request("http://h/", {{"authorization", "Bearer dorm_sk_x"}});
  auto refused = CheckObjectAccess(catalog, &authorizer, "app", "backend", r);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(Header(*refused, "www-authenticate"), "");
  EXPECT_EQ(authorizer.calls, std::vector<std::string>{"app|service_key|dorm_sk_x"});
}

TEST_F(CheckObjectAccessTest, AllowedJwtSetsTheClaimsAndHidesAlternateTokens) {
  FakeAuthorizer authorizer(Decision(AccessDecision::Outcome::kAllow, "", R"({"sub":"u"})"));
  HttpRequestData r =
      Request("http://h/ws?room=1&access_token=q", {{"x-dorm-auth-claims", "{\"sub\":\"forged\"}"},
                                                    {"sec-websocket-protocol", "chat, bearer.p"}});
  EXPECT_FALSE(CheckObjectAccess(catalog, &authorizer, "app", "users", r).has_value());
  // The protocol entry comes before the query parameter.
  EXPECT_EQ(authorizer.calls, std::vector<std::string>{"app|authenticated|p"});
  EXPECT_EQ(r.url, "http://h/ws?room=1");
  EXPECT_EQ(r.headers, (HeaderList{{"sec-websocket-protocol", "chat"},
                                   {"x-dorm-auth-claims", R"({"sub":"u"})"}}));
}

TEST_F(CheckObjectAccessTest, AuthorizationHeaderComesFirst) {
  FakeAuthorizer authorizer(Decision(AccessDecision::Outcome::kAllow, "", R"({"sub":"u"})"));
  HttpRequestData r = Request("http://h/?access_token=q", {{"authorization", "Bearer h"}});
  EXPECT_FALSE(CheckObjectAccess(catalog, &authorizer, "app", "users", r).has_value());
  EXPECT_EQ(authorizer.calls, std::vector<std::string>{"app|authenticated|h"});
  EXPECT_EQ(r.url, "http://h/");
}

TEST_F(CheckObjectAccessTest, ServiceKeyClassesTakeOnlyTheAuthorizationHeader) {
  FakeAuthorizer authorizer(Decision(AccessDecision::Outcome::kAllow, "", "", "sk_1"));
  HttpRequestData r =
      Request("http://h/?access_token=dorm_sk_q", {{"sec-websocket-protocol", "bearer.dorm_sk_p"}});
  auto refused = CheckObjectAccess(catalog, &authorizer, "app", "backend", r);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 401);
  EXPECT_TRUE(authorizer.calls.empty());

  HttpRequestData ok = Request(
      "http://h/", {{"authorization", "Bearer dorm_sk_h"}, {"x-dorm-service-key-id", "sk_forged"}});
  EXPECT_FALSE(CheckObjectAccess(catalog, &authorizer, "app", "backend", ok).has_value());
  EXPECT_EQ(Values(ok.headers, "x-dorm-service-key-id"), std::vector<std::string>{"sk_1"});
}

TEST_F(CheckObjectAccessTest, OnlyBearerProtocolsOfferedMakeTheEntryTheFallbackSelection) {
  FakeAuthorizer authorizer(Decision(AccessDecision::Outcome::kAllow, "", R"({"sub":"u"})"));
  std::string fallback = "stale";
  HttpRequestData only = Request("http://h/", {{"sec-websocket-protocol", "bearer.p"}});
  EXPECT_FALSE(CheckObjectAccess(catalog, &authorizer, "app", "users", only, &fallback));
  EXPECT_EQ(fallback, "bearer.p");

  // Other protocols offered: the object chooses among them; no fallback.
  HttpRequestData mixed = Request("http://h/", {{"sec-websocket-protocol", "chat, bearer.p"}});
  EXPECT_FALSE(CheckObjectAccess(catalog, &authorizer, "app", "users", mixed, &fallback));
  EXPECT_EQ(fallback, "");

  // Public classes see every entry, bearer ones included, and choose themselves.
  HttpRequestData open = Request("http://h/", {{"sec-websocket-protocol", "bearer.p"}});
  EXPECT_FALSE(CheckObjectAccess(catalog, &authorizer, "app", "open", open, &fallback));
  EXPECT_EQ(fallback, "");
  EXPECT_EQ(Values(open.headers, "sec-websocket-protocol"), std::vector<std::string>{"bearer.p"});
}

TEST(AccessGate, ProtocolFallbackOnlyFillsAnAcceptanceWithoutProtocol) {
  runtime::HttpResponseData accepted;
  accepted.status = 101;
  accepted.web_socket_id = 7;
  ApplyProtocolFallback("bearer.p", accepted);
  EXPECT_EQ(accepted.headers, (HeaderList{{"sec-websocket-protocol", "bearer.p"}}));

  runtime::HttpResponseData chosen = accepted;
  chosen.headers = {{"Sec-WebSocket-Protocol", "chat"}};
  ApplyProtocolFallback("bearer.p", chosen);
  EXPECT_EQ(chosen.headers, (HeaderList{{"Sec-WebSocket-Protocol", "chat"}}));

  runtime::HttpResponseData plain;  // an HTTP answer to the upgrade: left alone
  ApplyProtocolFallback("bearer.p", plain);
  EXPECT_TRUE(plain.headers.empty());

  runtime::HttpResponseData no_fallback = accepted;
  no_fallback.headers.clear();
  ApplyProtocolFallback("", no_fallback);
  EXPECT_TRUE(no_fallback.headers.empty());
}

TEST_F(CheckObjectAccessTest, WithoutAnAuthorizerNonPublicClassesAreRefused) {
  HttpRequestData r = Request("http://h/", {{"authorization", "Bearer t"}});
  auto refused = CheckObjectAccess(catalog, nullptr, "app", "users", r);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 401);
}

}  // namespace
}  // namespace dorm::net
