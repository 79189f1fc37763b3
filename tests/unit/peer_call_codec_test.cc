#include "net/peer_call_codec.h"

#include <gtest/gtest.h>

#include "net/peer_sockets.h"
#include "net/peer_streams.h"
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

TEST(PeerCallCodecTest, StreamTokensRoundTripAndMalformedOnesAreRefused) {
  const std::string a = NewPeerStreamToken();
  const std::string b = NewPeerStreamToken();
  EXPECT_TRUE(IsPeerStreamToken(a));
  EXPECT_NE(a, b);
  PeerCallMeta meta;
  meta.address = {"app", "Target", "", std::string(64, 'a')};
  meta.method = "read";
  meta.streams = {{a, false}, {b, true}};
  std::optional<PeerCallMeta> back = DecodeCallMeta(EncodeCallMeta(meta));
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->streams.size(), 2u);
  EXPECT_EQ(back->streams[0].token, a);
  EXPECT_FALSE(back->streams[0].writable);
  EXPECT_EQ(back->streams[1].token, b);
  EXPECT_TRUE(back->streams[1].writable);
  PeerCallMeta push;
  push.stream = a;
  back = DecodeCallMeta(EncodeCallMeta(push));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->stream, a);
  const std::string call =
      "{\"app\":\"a\",\"class\":\"c\",\"name\":\"\",\"id\":\"i\",\"method\":\"m\","
      "\"httpMethod\":\"\",\"url\":\"\",\"headers\":[]";
  EXPECT_FALSE(DecodeCallMeta(Base64Encode(call + ",\"stream\":\"../x\"}")).has_value());
  EXPECT_FALSE(DecodeCallMeta(Base64Encode(call + ",\"streams\":[[\"ABC\",false]]}")).has_value());
  EXPECT_FALSE(
      DecodeCallMeta(Base64Encode(call + ",\"streams\":[[\"" + a + "\",1]]}")).has_value());
  std::string many = call + ",\"streams\":[";
  for (size_t i = 0; i <= kMaxPeerMessageStreams; ++i) {
    many += (i ? ",[\"" : "[\"") + a + "\",false]";
  }
  EXPECT_FALSE(DecodeCallMeta(Base64Encode(many + "]}")).has_value());
  // An answer's streams are read only by a reader that expects them.
  runtime::HttpResponseData answer;
  answer.rpc_outcome = runtime::HttpResponseData::RpcOutcome::kReturned;
  const std::string encoded = EncodeAnswerMeta(answer, {{b, false}});
  runtime::HttpResponseData out;
  std::vector<PeerStreamRef> streams;
  ASSERT_TRUE(DecodeAnswerMeta(encoded, &out, &streams));
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0].token, b);
  EXPECT_FALSE(DecodeAnswerMeta(encoded, &out));
}

TEST(PeerCallCodecTest, AStreamFailureRoundTripsInAChunkExtension) {
  runtime::ResponseStream::Failure failure;
  failure.name = "RangeError";
  failure.message = "broke ☃";
  failure.retryable = true;
  const std::string extension = EncodePeerStreamFailure(failure);
  EXPECT_EQ(extension.rfind(";dorm-failed=", 0), 0u);
  // Only token characters: a chunk extension's value as RFC 9112 allows it unquoted.
  EXPECT_EQ(extension.find_first_not_of("0123456789abcdef", 13), std::string::npos);
  std::optional<runtime::ResponseStream::Failure> back = DecodePeerStreamFailure(extension);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->name, "RangeError");
  EXPECT_EQ(back->message, "broke ☃");
  EXPECT_TRUE(back->retryable);
  EXPECT_FALSE(back->reset);
  EXPECT_FALSE(back->client);
  // A long message is cut on the wire, never inside a character.
  failure.message = std::string(kMaxPeerStreamFailureMessage - 1, 'x') + "☃";
  back = DecodePeerStreamFailure(EncodePeerStreamFailure(failure));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->message, std::string(kMaxPeerStreamFailureMessage - 1, 'x'));
  EXPECT_FALSE(DecodePeerStreamFailure("").has_value());
  EXPECT_FALSE(DecodePeerStreamFailure(";dorm-failed=zz").has_value());
  EXPECT_FALSE(DecodePeerStreamFailure(";dorm-failed=7b7d").has_value());  // {}
}

TEST(PeerCallCodecTest, AKeptSocketIsTakenOnceByItsToken) {
  boost::asio::io_context io;
  std::optional<std::string> token =
      OfferPeerSocket(PendingPeerSocket{1, 42, {{"sec-websocket-protocol", "echo"}}}, io,
                      [](const PendingPeerSocket&) {});
  ASSERT_TRUE(token.has_value());
  EXPECT_TRUE(IsPeerStreamToken(*token));
  EXPECT_FALSE(TakePeerSocket(NewPeerStreamToken()).has_value());
  std::optional<PendingPeerSocket> taken = TakePeerSocket(*token);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->loop, 1u);
  EXPECT_EQ(taken->socket_id, 42u);
  ASSERT_EQ(taken->headers.size(), 1u);
  EXPECT_EQ(taken->headers[0].second, "echo");
  EXPECT_FALSE(TakePeerSocket(*token).has_value()) << "a socket is attached to one connection only";
}

TEST(PeerCallCodecTest, TheSignedTargetCoversTheCall) {
  EXPECT_EQ(SignedTarget("/_dorm/internal/rpc", "abc"), "/_dorm/internal/rpc\nabc");
  EXPECT_NE(SignedTarget("/_dorm/internal/rpc", "abc"), SignedTarget("/_dorm/internal/rpc", "abd"));
}

}  // namespace
}  // namespace dorm::net
