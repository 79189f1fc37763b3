// Which network addresses outbound fetch() may connect to: the server-side request forgery guard.
//
// By default a tenant's code may reach only public addresses. Loopback, private (RFC 1918, unique
// local), carrier-grade NAT, link-local (where cloud metadata services live), multicast,
// unspecified and other special-purpose addresses are refused, as are IPv6 forms that embed such
// an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4). The operator opens some of them with
// allow rules (`dorm serve --outbound-allow`) and closes more with deny rules (`--outbound-deny`);
// a deny rule wins over an allow rule.
//
// The check is made on the address a connection is about to be opened to, after DNS resolution,
// for every connection (each redirect is a new request): a host name that resolves to a private
// address is refused like the address itself.
//
// Pure: parsing and checking do no I/O (no DNS). Immutable once built; safe to share between
// threads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dorm::outbound {

// An IPv4 or IPv6 address as 16 bytes; IPv4 is held IPv4-mapped (::ffff:a.b.c.d).
struct IpAddress {
  std::array<uint8_t, 16> bytes{};

  // Parses dotted IPv4 or textual IPv6 (brackets allowed around IPv6); nullopt otherwise.
  static std::optional<IpAddress> Parse(std::string_view text);
  static IpAddress FromV4(uint32_t host_order);
  static IpAddress FromV6(const uint8_t bytes[16]);

  bool IsV4() const;    // IPv4-mapped
  uint32_t V4() const;  // requires IsV4()
  std::string ToString() const;
  bool operator==(const IpAddress&) const = default;
};

// A rule of --outbound-allow / --outbound-deny: a CIDR block ("10.0.0.0/8", "fd00::/8"), one
// address ("127.0.0.1", "::1"), or a host name ("internal.example", matched against the URL's
// host, case-insensitively, without a trailing dot; "*.example" matches every subdomain).
struct AddressRule {
  enum class Kind { kBlock, kHost };
  Kind kind = Kind::kBlock;
  IpAddress network;      // kBlock: the block's first address
  int prefix_bits = 128;  // kBlock: counted over the 16-byte form (IPv4 /8 is 96 + 8)
  std::string host;       // kHost: lowercase; a leading "*." matches subdomains

  // Parses one rule; on failure returns nullopt and sets `error` to why.
  static std::optional<AddressRule> Parse(std::string_view text, std::string* error);
  bool Matches(std::string_view host, const IpAddress& address) const;
};

// What a special-purpose address is, for the refusal's message; kPublic for every other address.
enum class AddressClass {
  kPublic,
  kLoopback,
  kPrivate,      // RFC 1918, unique local fc00::/7, carrier-grade NAT 100.64/10
  kLinkLocal,    // 169.254/16 (cloud metadata 169.254.169.254), fe80::/10
  kUnspecified,  // 0.0.0.0/8, ::
  kMulticast,    // 224/4, ff00::/8, 255.255.255.255
  kReserved,     // documentation, benchmarking, 240/4, discard-only and other special blocks
};
AddressClass ClassifyAddress(const IpAddress& address);
const char* AddressClassName(AddressClass address_class);

class AddressPolicy {
 public:
  void Allow(AddressRule rule) { allow_.push_back(std::move(rule)); }
  void Deny(AddressRule rule) { deny_.push_back(std::move(rule)); }

  // Whether a connection to `address`, resolved from the URL host `host`, may be opened. On
  // refusal, `why` (if given) says which class of address or which deny rule refused it, and
  // RefusalHint(*why) what would open it.
  bool Permits(std::string_view host, const IpAddress& address, std::string* why = nullptr) const;
  // What to add to a refusal's `why` in a message: --outbound-allow opens a class of addresses,
  // but nothing opens what --outbound-deny closed (it wins over allow).
  static const char* RefusalHint(const std::string& why);

 private:
  std::vector<AddressRule> allow_;
  std::vector<AddressRule> deny_;
};

}  // namespace dorm::outbound
