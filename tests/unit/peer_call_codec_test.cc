#include "net/peer_call_codec.h"

#include <gtest/gtest.h>

#include "util/base64.h"

namespace dorm::net {
namespace {

TEST(PeerCallCodecTest, ACallRoundTrips) {
  PeerCallMeta meta;
  meta.address = {"app", "Target", "name ☃", std::string(64, 'a')};
  meta.method = "add";
  meta.http_method = "PUT";
  meta.url = "http://target/echo?x=1";
  meta.headers = {{"x-a", "1"}, {"x-a", "2"}, {"content-type", "text/plain; charset=\"utf-8\""}};
  std::optional<PeerCallMeta> back = DecodeCallMeta(EncodeCallMeta(meta));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->address.app, "app");
  EXPECT_EQ(back->address.class_name, "Target");
  EXPECT_EQ(back->address.instance_name, "name ☃");
  EXPECT_EQ(back->address.object_id, std::string(64, 'a'));
  EXPECT_EQ(back->method, "add");
  EXPECT_EQ(back->http_method, "PUT");
  EXPECT_EQ(back->url, "http://target/echo?x=1");
  EXPECT_EQ(back->headers, meta.headers);
}

TEST(PeerCallCodecTest, MalformedCallsAreRefused) {
  EXPECT_FALSE(DecodeCallMeta("").has_value());
  EXPECT_FALSE(DecodeCallMeta("not base64!").has_value());
  EXPECT_FALSE(DecodeCallMeta(Base64Encode("[1,2]")).has_value());
  EXPECT_FALSE(DecodeCallMeta(Base64Encode("{\"app\":1}")).has_value());
  // Every field must be there, with its type.
  const std::string missing_url =
      "{\"app\":\"a\",\"class\":\"c\",\"name\":\"\",\"id\":\"i\",\"method\":\"m\","
      "\"httpMethod\":\"\",\"headers\":[]}";
  EXPECT_FALSE(DecodeCallMeta(Base64Encode(missing_url)).has_value());
  const std::string bad_header =
      "{\"app\":\"a\",\"class\":\"c\",\"name\":\"\",\"id\":\"i\",\"method\":\"m\","
      "\"httpMethod\":\"\",\"url\":\"\",\"headers\":[[\"x\",1]]}";
  EXPECT_FALSE(DecodeCallMeta(Base64Encode(bad_header)).has_value());
  const std::string three =
      "{\"app\":\"a\",\"class\":\"c\",\"name\":\"\",\"id\":\"i\",\"method\":\"m\","
      "\"httpMethod\":\"\",\"url\":\"\",\"headers\":[[\"x\",\"y\",\"z\"]]}";
  EXPECT_FALSE(DecodeCallMeta(Base64Encode(three)).has_value());
}

TEST(PeerCallCodecTest, AnAnswerRoundTripsWithItsFlags) {
  runtime::HttpResponseData answer;
  answer.status = 201;
  answer.status_text = "Made";
  answer.headers = {{"x-node", "b"}};
  answer.rpc_outcome = runtime::HttpResponseData::RpcOutcome::kThrew;
  answer.thrown_name = "RangeError";
  answer.runtime_error = true;
  answer.object_reset = true;
  answer.reset_retryable = true;
  answer.reset_overloaded = false;
  answer.owned_elsewhere = true;
  answer.owner_node = "node-c";
  answer.body = "not part of it";
  runtime::HttpResponseData back;
  ASSERT_TRUE(DecodeAnswerMeta(EncodeAnswerMeta(answer), &back));
  EXPECT_EQ(back.status, 201);
  EXPECT_EQ(back.status_text, "Made");
  EXPECT_EQ(back.headers, answer.headers);
  EXPECT_EQ(back.rpc_outcome, runtime::HttpResponseData::RpcOutcome::kThrew);
  EXPECT_EQ(back.thrown_name, "RangeError");
  EXPECT_TRUE(back.runtime_error);
  EXPECT_TRUE(back.object_reset);
  EXPECT_TRUE(back.reset_retryable);
  EXPECT_FALSE(back.reset_overloaded);
  EXPECT_TRUE(back.owned_elsewhere);
  EXPECT_EQ(back.owner_node, "node-c");
  EXPECT_TRUE(back.body.empty());

  runtime::HttpResponseData returned;
  returned.rpc_outcome = runtime::HttpResponseData::RpcOutcome::kReturned;
  runtime::HttpResponseData plain;
  ASSERT_TRUE(DecodeAnswerMeta(EncodeAnswerMeta(returned), &plain));
  EXPECT_EQ(plain.rpc_outcome, runtime::HttpResponseData::RpcOutcome::kReturned);
  EXPECT_FALSE(plain.runtime_error);
  EXPECT_FALSE(plain.object_reset);
}

TEST(PeerCallCodecTest, MalformedAnswersAreRefused) {
  runtime::HttpResponseData out;
  EXPECT_FALSE(DecodeAnswerMeta("", &out));
  EXPECT_FALSE(DecodeAnswerMeta(Base64Encode("{}"), &out));
  const std::string status_out_of_range =
      "{\"status\":42,\"statusText\":\"\",\"headers\":[],\"outcome\":0,\"flags\":0,"
      "\"thrownName\":\"\",\"owner\":\"\"}";
  EXPECT_FALSE(DecodeAnswerMeta(Base64Encode(status_out_of_range), &out));
  const std::string outcome_out_of_range =
      "{\"status\":200,\"statusText\":\"\",\"headers\":[],\"outcome\":3,\"flags\":0,"
      "\"thrownName\":\"\",\"owner\":\"\"}";
  EXPECT_FALSE(DecodeAnswerMeta(Base64Encode(outcome_out_of_range), &out));
  const std::string status_as_text =
      "{\"status\":\"200\",\"statusText\":\"\",\"headers\":[],\"outcome\":0,\"flags\":0,"
      "\"thrownName\":\"\",\"owner\":\"\"}";
  EXPECT_FALSE(DecodeAnswerMeta(Base64Encode(status_as_text), &out));
}

TEST(PeerCallCodecTest, TheSignedTargetCoversTheCall) {
  EXPECT_EQ(SignedTarget("/_dorm/internal/rpc", "abc"), "/_dorm/internal/rpc\nabc");
  EXPECT_NE(SignedTarget("/_dorm/internal/rpc", "abc"), SignedTarget("/_dorm/internal/rpc", "abd"));
}

}  // namespace
}  // namespace dorm::net
