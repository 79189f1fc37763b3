#include "outbound/address_policy.h"

#include <gtest/gtest.h>

namespace dorm::outbound {
namespace {

IpAddress Ip(const char* text) {
  std::optional<IpAddress> address = IpAddress::Parse(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(IpAddress{});
}

AddressRule Rule(const char* text) {
  std::string error;
  std::optional<AddressRule> rule = AddressRule::Parse(text, &error);
  EXPECT_TRUE(rule.has_value()) << text << ": " << error;
  return rule.value_or(AddressRule{});
}

TEST(IpAddressTest, ParsesBothFamiliesAndPrintsThemBack) {
  EXPECT_EQ(Ip("192.0.2.1").ToString(), "192.0.2.1");
  EXPECT_TRUE(Ip("192.0.2.1").IsV4());
  EXPECT_EQ(Ip("[2001:db8::1]").ToString(), "2001:db8::1");
  EXPECT_FALSE(Ip("2001:db8::1").IsV4());
  // The IPv4-mapped form is the same address as the IPv4 one.
  EXPECT_EQ(Ip("::ffff:10.0.0.1"), Ip("10.0.0.1"));
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "example.com", "::g", "[::1",
                          "01.2.3.4x", "1.2.3.4/8"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << bad;
  }
}

TEST(ClassifyAddressTest, SpecialPurposeBlocks) {
  struct Case {
    const char* address;
    AddressClass expected;
  };
  const Case cases[] = {
      {"8.8.8.8", AddressClass::kPublic},
      {"1.1.1.1", AddressClass::kPublic},
      {"2606:4700:4700::1111", AddressClass::kPublic},
      {"127.0.0.1", AddressClass::kLoopback},
      {"127.255.255.254", AddressClass::kLoopback},
      {"::1", AddressClass::kLoopback},
      {"10.1.2.3", AddressClass::kPrivate},
      {"172.16.0.1", AddressClass::kPrivate},
      {"172.31.255.255", AddressClass::kPrivate},
      {"172.32.0.1", AddressClass::kPublic},
      {"192.168.1.1", AddressClass::kPrivate},
      {"100.64.0.1", AddressClass::kPrivate},
      {"100.128.0.1", AddressClass::kPublic},
      {"fd00::1", AddressClass::kPrivate},
      {"fd00:ec2::254", AddressClass::kPrivate},  // a cloud metadata service
      {"169.254.169.254", AddressClass::kLinkLocal},
      {"fe80::1", AddressClass::kLinkLocal},
      {"0.0.0.0", AddressClass::kUnspecified},
      {"0.1.2.3", AddressClass::kUnspecified},
      {"::", AddressClass::kUnspecified},
      {"224.0.0.1", AddressClass::kMulticast},
      {"ff02::1", AddressClass::kMulticast},
      {"255.255.255.255", AddressClass::kReserved},
      {"240.0.0.1", AddressClass::kReserved},
      {"192.0.2.10", AddressClass::kReserved},
      {"198.18.0.1", AddressClass::kReserved},
      {"2001:db8::1", AddressClass::kReserved},
      // IPv6 forms that carry an IPv4 address are judged by it.
      {"::ffff:127.0.0.1", AddressClass::kLoopback},
      {"::127.0.0.1", AddressClass::kLoopback},
      {"::8.8.8.8", AddressClass::kReserved},
      {"64:ff9b::a9fe:a9fe", AddressClass::kLinkLocal},  // NAT64 of 169.254.169.254
      {"64:ff9b::808:808", AddressClass::kPublic},
      {"2002:7f00:1::", AddressClass::kLoopback},  // 6to4 of 127.0.0.1
      {"2002:0808:0808::", AddressClass::kPublic},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ClassifyAddress(Ip(c.address)), c.expected) << c.address;
  }
}

TEST(AddressRuleTest, ParsesBlocksAddressesAndHosts) {
  AddressRule block = Rule("10.1.2.3/8");
  EXPECT_EQ(block.kind, AddressRule::Kind::kBlock);
  EXPECT_EQ(block.prefix_bits, 104);
  EXPECT_EQ(block.network, Ip("10.0.0.0"));
  EXPECT_TRUE(block.Matches("", Ip("10.200.0.1")));
  EXPECT_FALSE(block.Matches("", Ip("11.0.0.1")));

  AddressRule one = Rule("127.0.0.1");
  EXPECT_TRUE(one.Matches("", Ip("127.0.0.1")));
  EXPECT_FALSE(one.Matches("", Ip("127.0.0.2")));

  AddressRule v6 = Rule("fd00::/8");
  EXPECT_TRUE(v6.Matches("", Ip("fd12::1")));
  EXPECT_FALSE(v6.Matches("", Ip("fe80::1")));

  AddressRule everything = Rule("0.0.0.0/0");
  EXPECT_TRUE(everything.Matches("", Ip("192.168.0.1")));
  EXPECT_FALSE(everything.Matches("", Ip("::1")));  // an IPv4 rule covers IPv4 only

  AddressRule host = Rule("Internal.Example.");
  EXPECT_EQ(host.kind, AddressRule::Kind::kHost);
  EXPECT_TRUE(host.Matches("internal.example", Ip("10.0.0.1")));
  EXPECT_TRUE(host.Matches("INTERNAL.example.", Ip("10.0.0.1")));
  EXPECT_FALSE(host.Matches("other.example", Ip("10.0.0.1")));

  AddressRule wildcard = Rule("*.corp.example");
  EXPECT_TRUE(wildcard.Matches("db.corp.example", Ip("10.0.0.1")));
  EXPECT_FALSE(wildcard.Matches("corp.example", Ip("10.0.0.1")));
  EXPECT_FALSE(wildcard.Matches("xcorp.example", Ip("10.0.0.1")));
}

TEST(AddressRuleTest, RefusesMalformedRulesWithTheReason) {
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "::/129", "10.0.0.0/8x",
                          "exa mple", "host/8", ".example", "*.", "a..b/1"}) {
    std::string error;
    EXPECT_FALSE(AddressRule::Parse(bad, &error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(AddressPolicyTest, RefusesSpecialAddressesUnlessAllowedAndDenyWins) {
  AddressPolicy policy;
  std::string why;
  EXPECT_TRUE(policy.Permits("example.com", Ip("93.184.216.34"), &why));
  EXPECT_FALSE(policy.Permits("localhost", Ip("127.0.0.1"), &why));
  EXPECT_EQ(why, "a loopback address");
  EXPECT_FALSE(policy.Permits("metadata", Ip("169.254.169.254"), &why));
  EXPECT_EQ(why, "a link-local address");
  EXPECT_FALSE(policy.Permits("x", Ip("::ffff:10.0.0.1"), &why));
  EXPECT_EQ(why, "a private address");

  policy.Allow(Rule("127.0.0.1"));
  policy.Allow(Rule("internal.example"));
  EXPECT_TRUE(policy.Permits("localhost", Ip("127.0.0.1")));
  EXPECT_FALSE(policy.Permits("localhost", Ip("127.0.0.2")));
  // A host rule opens that name's addresses only, never an address reached by another name.
  EXPECT_TRUE(policy.Permits("internal.example", Ip("10.9.9.9")));
  EXPECT_FALSE(policy.Permits("evil.example", Ip("10.9.9.9")));

  policy.Deny(Rule("93.184.216.0/24"));
  policy.Deny(Rule("127.0.0.1"));
  EXPECT_FALSE(policy.Permits("example.com", Ip("93.184.216.34"), &why));
  EXPECT_EQ(why, "denied by the server's outbound rules");
  EXPECT_STREQ(AddressPolicy::RefusalHint(why),
               " (--outbound-deny, which --outbound-allow does not override)");
  EXPECT_FALSE(policy.Permits("x", Ip("0.0.0.0"), &why));
  EXPECT_EQ(why, "an unspecified address");
  EXPECT_STREQ(AddressPolicy::RefusalHint(why), " (this server's --outbound-allow opens it)");
  EXPECT_FALSE(policy.Permits("localhost", Ip("127.0.0.1")));
  EXPECT_TRUE(policy.Permits("example.net", Ip("93.184.217.1")));
}

}  // namespace
}  // namespace dorm::outbound
