#include "net/request_head.h"

#include <gtest/gtest.h>

#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <string>
#include <vector>

#include "net/response_head.h"

namespace dorm::net {
namespace {

namespace http = boost::beast::http;

// Parses `text` with a parser configured as the server's; returns the parser state after the head.
struct Parsed {
  boost::beast::error_code ec;
  bool header_done = false;
  std::optional<HeadRefusal> refusal;
  runtime::HeaderList forwarded;
};

Parsed ParseHead(const std::string& text) {
  RequestParser parser;
  ConfigureRequestParser(parser, RequestLimits{});
  Parsed out;
  parser.put(boost::asio::buffer(text), out.ec);
  out.header_done = parser.is_header_done();
  if (out.header_done) {
    out.refusal = CheckRequestHead(parser.get());
    out.forwarded = ForwardedHeaders(parser.get());
  }
  return out;
}

TEST(RequestHead, StopsAfterTheHead) {
  RequestParser parser;
  ConfigureRequestParser(parser, RequestLimits{});
  std::string text = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
  boost::beast::error_code ec;
  size_t used = parser.put(boost::asio::buffer(text), ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(parser.is_header_done());
  EXPECT_FALSE(parser.is_done());
  EXPECT_EQ(used, text.size() - 5);  // the body is left for after routing and access checks
}

TEST(RequestHead, AcceptsPlainRequests) {
  EXPECT_FALSE(ParseHead("GET / HTTP/1.1\r\nHost: a\r\n\r\n").refusal);
  EXPECT_FALSE(ParseHead("GET / HTTP/1.0\r\n\r\n").refusal);
  EXPECT_FALSE(
      ParseHead("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n").refusal);
  EXPECT_FALSE(ParseHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n").refusal);
}

TEST(RequestHead, RefusesEveryTransferEncodingButChunked) {
  for (const char* value :
       {"xchunked", "chunked, gzip", "gzip, chunked", "identity", "gzip", "chunked;q=1", ""}) {
    Parsed p = ParseHead(std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + value +
                         "\r\n\r\n");
    ASSERT_TRUE(p.header_done) << value;
    ASSERT_TRUE(p.refusal) << value;
    EXPECT_EQ(p.refusal->status, 400) << value;
  }
}

TEST(RequestHead, RefusesTwoTransferEncodingFields) {
  // Beast itself refuses a second field after `chunked`; ours covers any order.
  Parsed p = ParseHead(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
      "chunked\r\n\r\n");
  EXPECT_TRUE(p.ec || (p.refusal && p.refusal->status == 400));
}

TEST(RequestHead, RefusesContentLengthWithTransferEncoding) {
  for (const char* head :
       {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\nContent-Length: 3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: identity\r\n\r\n"}) {
    Parsed p = ParseHead(head);
    EXPECT_TRUE(p.ec || (p.refusal && p.refusal->status == 400)) << head;
  }
}

TEST(RequestHead, RefusesTransferEncodingInHttp10) {
  Parsed p = ParseHead("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_TRUE(p.refusal);
  EXPECT_EQ(p.refusal->status, 400);
}

TEST(RequestHead, RefusesTwoHostsOrNone) {
  Parsed two = ParseHead("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  ASSERT_TRUE(two.refusal);
  EXPECT_EQ(two.refusal->status, 400);
  Parsed none = ParseHead("GET / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(none.refusal);
  EXPECT_EQ(none.refusal->status, 400);
}

TEST(RequestHead, ForwardsEverythingButServerHeaders) {
  Parsed p = ParseHead(
      "GET / HTTP/1.1\r\nHost: a\r\nX-Dorm-Original-Path: /f\r\nx-dorm-auth-claims: {}\r\n"
      "X-DORM-whatever: 1\r\nx-dormant: kept\r\nAccept: */*\r\n\r\n");
  ASSERT_FALSE(p.refusal);
  runtime::HeaderList expected = {{"Host", "a"}, {"x-dormant", "kept"}, {"Accept", "*/*"}};
  EXPECT_EQ(p.forwarded, expected);
  EXPECT_TRUE(IsServerHeaderName("X-Dorm-"));
  EXPECT_FALSE(IsServerHeaderName("x-dorm"));
}

TEST(RequestHead, HeadLimitIsAnError) {
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(70000, 'a') + "\r\n\r\n";
  Parsed p = ParseHead(big);
  EXPECT_EQ(p.ec, http::error::header_limit);
}

TEST(RequestHead, ConnectionBufferHoldsAFullHead) {
  RequestLimits limits;
  EXPECT_GT(ConnectionBufferBytes(limits), limits.max_header_bytes);
}

TEST(ResponseHead, RefusesFieldsHttp11CannotCarry) {
  EXPECT_FALSE(CheckResponseField("set-cookie", std::string(kMaxResponseFieldValueBytes, 'x')));
  EXPECT_TRUE(CheckResponseField("set-cookie", std::string(kMaxResponseFieldValueBytes + 1, 'x')));
  EXPECT_TRUE(CheckResponseField("x-a", "one\r\nx-injected: 1"));
  EXPECT_TRUE(CheckResponseField("x-a", std::string("nul\0byte", 8)));
  EXPECT_TRUE(CheckResponseField("bad name", "v"));
  EXPECT_TRUE(CheckResponseField("", "v"));
  EXPECT_FALSE(CheckResponseField("x-ok", "tab\tand spaces"));
  EXPECT_TRUE(IsValidReasonPhrase("Not Found"));
  EXPECT_FALSE(IsValidReasonPhrase("OK\r\nx: 1"));
}

// ScanHeadFields with KeepAlive and IsWebSocketUpgrade answer as Beast's keep_alive(), its
// websocket::is_upgrade() and head[field::host] do, over versions, methods and field lists with
// missing, repeated, empty and mixed-case fields and token lists.
TEST(RequestHead, ScannedFieldsAnswerAsBeast) {
  const std::vector<std::string> lines = {
      "GET / HTTP/1.1\r\n",
      "GET / HTTP/1.0\r\n",
      "POST / HTTP/1.1\r\n",
      "HEAD / HTTP/1.0\r\n",
  };
  const std::vector<std::string> field_sets = {
      "Host: a\r\n",
      "Host: a\r\nConnection: keep-alive\r\n",
      "host: a\r\nconnection: close\r\n",
      "Host: a\r\nConnection: Keep-Alive, Upgrade\r\nUpgrade: websocket\r\n",
      "Host: a\r\nconnection: upgrade\r\nupgrade: WebSocket\r\n",
      "Host: a\r\nConnection: upgrade\r\nUpgrade: h2c, websocket\r\n",
      "Host: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n",
      "Host: a\r\nUpgrade: websocket\r\n",
      "Host: a\r\nConnection: upgrade\r\n",
      "Host: a\r\nConnection:\r\nConnection: close\r\n",
      "Host: a\r\nConnection: close\r\nConnection: keep-alive\r\n",
      "Host: a\r\nConnection: keep-alive\r\nConnection: close\r\n",
      "Host: a\r\nUpgrade: h2c\r\nConnection: upgrade\r\nUpgrade: websocket\r\n",
      "Host: a\r\nConnection: x, ,close ,y\r\n",
      "Host: a\r\nConnection: closed\r\n",
      "Host: \r\nX-Other: 1\r\n",
      "Host: first\r\nHost: second\r\n",
      "X-Only: 1\r\n",
  };
  int compared = 0;
  for (const std::string& line : lines) {
    for (const std::string& fields_text : field_sets) {
      RequestParser parser;
      boost::beast::error_code ec;
      parser.put(boost::asio::buffer(line + fields_text + "\r\n"), ec);
      ASSERT_TRUE(parser.is_header_done()) << line << fields_text << ec.message();
      const auto& message = parser.get();
      const RequestHead& head = message;
      const HeadFields fields = ScanHeadFields(head);
      EXPECT_EQ(KeepAlive(head, fields), message.keep_alive()) << line << fields_text;
      EXPECT_EQ(IsWebSocketUpgrade(head, fields), boost::beast::websocket::is_upgrade(head))
          << line << fields_text;
      EXPECT_EQ(fields.host, std::string_view(head[http::field::host])) << line << fields_text;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 72);
}

}  // namespace
}  // namespace dorm::net
