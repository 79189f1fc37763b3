// Which URLs name the server itself (net/own_url.h): http: on the listening port, with a loopback
// host or the listen host; everything else goes out through the network.
#include "net/own_url.h"

#include <gtest/gtest.h>

namespace dorm::net {
namespace {

std::string Target(std::string_view url, std::string_view listen_host = "127.0.0.1",
                   unsigned short port = 8787) {
  auto own = ParseOwnUrl(url, listen_host, port);
  return own ? own->host + " " + own->target : "not own";
}

TEST(OwnUrl, LoopbackNamesAndAddressesOnTheListeningPort) {
  EXPECT_EQ(Target("http://localhost:8787/_do/a/b"), "localhost:8787 /_do/a/b");
  EXPECT_EQ(Target("http://chat.localhost:8787/_do/a/b?x=1#frag"),
            "chat.localhost:8787 /_do/a/b?x=1");
  EXPECT_EQ(Target("http://127.0.0.1:8787"), "127.0.0.1:8787 /");
  EXPECT_EQ(Target("http://127.1.2.3:8787?q"), "127.1.2.3:8787 /?q");
  EXPECT_EQ(Target("http://[::1]:8787/x"), "[::1]:8787 /x");
  EXPECT_EQ(Target("http://10.0.0.5:8787/x", "10.0.0.5"), "10.0.0.5:8787 /x");
  EXPECT_EQ(Target("http://localhost/x", "127.0.0.1", 80), "localhost /x");
}

TEST(OwnUrl, EverythingElseIsNotTheServer) {
  EXPECT_EQ(Target("https://localhost:8787/x"), "not own");   // the server speaks http only
  EXPECT_EQ(Target("http://localhost:8788/x"), "not own");    // another port
  EXPECT_EQ(Target("http://localhost/x"), "not own");         // port 80
  EXPECT_EQ(Target("http://example.com:8787/x"), "not own");  // not loopback
  EXPECT_EQ(Target("http://128.0.0.1:8787/x"), "not own");
  EXPECT_EQ(Target("http://127.0.0.1.nip.io:8787/x"), "not own");
  EXPECT_EQ(Target("http://127.0.0:8787/x"), "not own");
  EXPECT_EQ(Target("http://localhost.evil:8787/x"), "not own");
  EXPECT_EQ(Target("http://user@localhost:8787/x"), "not own");
  EXPECT_EQ(Target("http://localhost:99999/x"), "not own");
  EXPECT_EQ(Target("http://localhost:8787/x", "127.0.0.1", 0), "not own");  // not listening yet
  EXPECT_EQ(Target("http://:8787/x"), "not own");
}

}  // namespace
}  // namespace dorm::net
