#include "net/response_head.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <random>
#include <sstream>

namespace dorm::net {
namespace {

namespace http = boost::beast::http;
using Fields = std::vector<std::pair<std::string, std::string>>;

std::string Head(int status, std::string_view reason, const Fields& fields, bool keep,
                 BodyFraming framing = BodyFraming::kContentLength, uint64_t length = 0) {
  std::string out;
  auto bad = AppendResponseHead(status, reason, fields, keep, framing, length, &out);
  EXPECT_FALSE(bad) << *bad;
  return out;
}

// The head Beast's fields and serializer write for the same answer, as the server wrote it
// before it wrote heads itself: the application's fields inserted, then keep-alive and framing.
std::string BeastHead(int status, std::string_view reason, const Fields& fields, bool keep,
                      BodyFraming framing, uint64_t length) {
  http::response<http::empty_body> res;
  res.result(static_cast<unsigned>(status));
  if (!reason.empty() && IsValidReasonPhrase(reason)) res.reason(reason);
  res.version(11);
  for (const auto& [name, value] : fields) {
    if (boost::beast::iequals(name, "content-length") ||
        boost::beast::iequals(name, "transfer-encoding") ||
        boost::beast::iequals(name, "connection")) {
      continue;
    }
    res.insert(name, value);
  }
  res.keep_alive(keep);
  if (framing == BodyFraming::kContentLength) res.content_length(length);
  if (framing == BodyFraming::kChunked) res.chunked(true);
  std::ostringstream os;
  os << res.base();
  return os.str();
}

TEST(ResponseHeadWriter, WritesStatusFieldsAndFraming) {
  EXPECT_EQ(
      Head(200, "", {{"content-type", "application/json"}}, true, BodyFraming::kContentLength, 11),
      "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 11\r\n\r\n");
  EXPECT_EQ(
      Head(404, "Nope", {{"X-A", "1"}}, false, BodyFraming::kChunked),
      "HTTP/1.1 404 Nope\r\nX-A: 1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(Head(204, "", {}, true, BodyFraming::kNone), "HTTP/1.1 204 No Content\r\n\r\n");
  // The writer writes the framing it is given (the server gives none for 1xx, 204 and 304).
  EXPECT_EQ(Head(304, "", {{"etag", "\"x\""}}, true, BodyFraming::kContentLength, 0),
            "HTTP/1.1 304 Not Modified\r\netag: \"x\"\r\nContent-Length: 0\r\n\r\n");
}

TEST(ResponseHeadWriter, ReasonPhrase) {
  EXPECT_EQ(Head(200, "Fine\tthanks", {}, true, BodyFraming::kNone),
            "HTTP/1.1 200 Fine\tthanks\r\n\r\n");
  // A phrase that could split the response gives way to the standard one.
  EXPECT_EQ(Head(200, "OK\r\nx-injected: 1", {}, true, BodyFraming::kNone),
            "HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(Head(418, "", {}, true, BodyFraming::kNone),
            BeastHead(418, "", {}, true, BodyFraming::kNone, 0));
  EXPECT_EQ(Head(599, "", {}, true, BodyFraming::kNone),
            BeastHead(599, "", {}, true, BodyFraming::kNone, 0));
}

TEST(ResponseHeadWriter, ServerOwnsTheFramingFields) {
  EXPECT_EQ(Head(200, "",
                 {{"Content-Length", "999"},
                  {"TRANSFER-ENCODING", "gzip"},
                  {"connection", "keep-alive"},
                  {"x-b", "2"}},
                 false, BodyFraming::kContentLength, 3),
            "HTTP/1.1 200 OK\r\nx-b: 2\r\nConnection: close\r\nContent-Length: 3\r\n\r\n");
}

TEST(ResponseHeadWriter, RepeatedNamesStayTogetherAndValuesAreTrimmed) {
  EXPECT_EQ(Head(200, "",
                 {{"set-cookie", "a=1"},
                  {"x-b", " \t2 \t"},
                  {"Set-Cookie", "b=2"},
                  {"x-c", ""},
                  {"X-B", "3"},
                  {"set-cookie", "c=3"}},
                 true, BodyFraming::kNone),
            "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nset-cookie: c=3\r\n"
            "x-b: 2\r\nX-B: 3\r\nx-c: \r\n\r\n");
}

TEST(ResponseHeadWriter, RefusesWhatHttp11CannotCarry) {
  std::string out;
  EXPECT_TRUE(AppendResponseHead(200, "", {{"x-a", "one\r\nx-injected: 1"}}, true,
                                 BodyFraming::kNone, 0, &out));
  EXPECT_TRUE(AppendResponseHead(200, "", {{"bad name", "v"}}, true, BodyFraming::kNone, 0, &out));
  EXPECT_TRUE(AppendResponseHead(200, "", {{"x-a", std::string("n\0l", 3)}}, true,
                                 BodyFraming::kNone, 0, &out));
  EXPECT_TRUE(AppendResponseHead(200, "",
                                 {{"x-a", std::string(kMaxResponseFieldValueBytes + 1, 'v')}}, true,
                                 BodyFraming::kNone, 0, &out));
  auto bad = AppendResponseHead(1000, "", {}, true, BodyFraming::kNone, 0, &out);
  ASSERT_TRUE(bad);
  EXPECT_EQ(*bad, "the response cannot be sent as HTTP/1.1: invalid status-code");
  EXPECT_TRUE(AppendResponseHead(-1, "", {}, true, BodyFraming::kNone, 0, &out));
}

TEST(ResponseHeadWriter, StatusesWithoutBody) {
  for (int s : {100, 101, 102, 204, 304}) EXPECT_TRUE(StatusForbidsBody(s)) << s;
  for (int s : {199, 200, 205, 300, 404, 500, 599, -1}) EXPECT_FALSE(StatusForbidsBody(s)) << s;
}

// The same bytes as Beast's serializer for varied answers: every status from 100 to 999 with
// and without its own phrase, and field lists mixing cases, repeats, framing fields and spaces.
TEST(ResponseHeadWriter, SameBytesAsBeast) {
  const std::vector<Fields> lists = {
      {},
      {{"content-type", "text/plain;charset=UTF-8"}},
      {{"A", "1"}, {"b", "2"}, {"a", "3"}, {"B", " 4 "}, {"c", "5"}, {"A", "6"}},
      {{"Content-Length", "5"}, {"x", "\t"}, {"Transfer-Encoding", "chunked"}, {"x", "y"}},
      {{"set-cookie", "a"}, {"set-cookie", "b"}, {"Connection", "close"}, {"vary", "*"}},
      {{"z", "1"}, {"y", "2"}, {"x", "3"}, {"y", "4"}, {"z", "5"}, {"x", "6"}, {"w", "7"}},
  };
  const BodyFraming framings[] = {BodyFraming::kNone, BodyFraming::kContentLength,
                                  BodyFraming::kChunked};
  for (int status = 100; status <= 999; ++status) {
    for (std::string_view reason : {std::string_view(), std::string_view("Custom")}) {
      for (size_t i = 0; i < lists.size(); ++i) {
        const bool keep = (status + i) % 2 == 0;
        const BodyFraming framing = framings[(status + i) % 3];
        const uint64_t length = static_cast<uint64_t>(status) * 1000003u * (i + 1);
        ASSERT_EQ(Head(status, reason, lists[i], keep, framing, length),
                  BeastHead(status, reason, lists[i], keep, framing, length))
            << status << " list " << i;
      }
    }
  }
}

// The same bytes as Beast's serializer for random answers drawn from names that repeat in other
// cases, framing fields, and values with blanks around and inside them (fixed seed: the cases are
// the same on every run).
TEST(ResponseHeadWriter, SameBytesAsBeastForRandomFieldLists) {
  const char* names[] = {"a",
                         "A",
                         "b",
                         "B",
                         "set-cookie",
                         "Set-Cookie",
                         "x-long-header-name",
                         "Connection",
                         "content-length",
                         "Transfer-Encoding"};
  const char* values[] = {"", " ", "\t", "v", " v ", "\tv w\t", "a=1; Path=/", "  x  y  "};
  const int statuses[] = {100, 101, 200, 204, 299, 304, 404, 500, 599, 999};
  const char* reasons[] = {"", "Fine", "bad\r\nreason", " "};
  const BodyFraming framings[] = {BodyFraming::kNone, BodyFraming::kContentLength,
                                  BodyFraming::kChunked};
  std::mt19937 random(15);
  auto pick = [&random](size_t n) { return static_cast<size_t>(random() % n); };
  for (int i = 0; i < 5000; ++i) {
    Fields fields;
    const size_t count = pick(9);
    for (size_t f = 0; f < count; ++f) {
      fields.emplace_back(names[pick(std::size(names))], values[pick(std::size(values))]);
    }
    const int status = statuses[pick(std::size(statuses))];
    const std::string_view reason = reasons[pick(std::size(reasons))];
    const bool keep = pick(2) == 0;
    const BodyFraming framing = framings[pick(3)];
    const uint64_t length = random();
    ASSERT_EQ(Head(status, reason, fields, keep, framing, length),
              BeastHead(status, reason, fields, keep, framing, length))
        << "case " << i;
  }
}

}  // namespace
}  // namespace dorm::net
