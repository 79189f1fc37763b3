// SplitPeerAddress: the --advertise forms a node connects to, and what it refuses.
#include "net/peer_address.h"

#include <gtest/gtest.h>

namespace dorm::net {
namespace {

TEST(SplitPeerAddress, HostPortDefaultsAndIpv6) {
  std::string host, port;
  ASSERT_TRUE(SplitPeerAddress("http://10.0.0.5:8787", host, port));
  EXPECT_EQ(host, "10.0.0.5");
  EXPECT_EQ(port, "8787");
  ASSERT_TRUE(SplitPeerAddress("http://node-b/some/path", host, port));
  EXPECT_EQ(host, "node-b");
  EXPECT_EQ(port, "80");
  ASSERT_TRUE(SplitPeerAddress("http://[::1]:9000/", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, "9000");
  ASSERT_TRUE(SplitPeerAddress("http://[fe80::1]", host, port));
  EXPECT_EQ(host, "fe80::1");
  EXPECT_EQ(port, "80");
}

TEST(SplitPeerAddress, RefusesOtherForms) {
  std::string host, port;
  for (const char* bad : {"", "https://a:1", "a:1", "http://", "http:///x", "http://:80",
                          "http://a:", "http://[::1", "http://[]:80"}) {
    EXPECT_FALSE(SplitPeerAddress(bad, host, port)) << bad;
  }
}

}  // namespace
}  // namespace dorm::net
