#include "outbound/address_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace dorm::outbound {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool PrefixMatches(const IpAddress& address, const IpAddress& network, int bits) {
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((address.bytes[i] & mask) != (network.bytes[i] & mask)) return false;
  }
  return true;
}

bool InV4Block(uint32_t address, uint32_t network, int bits) {
  if (bits == 0) return true;
  const uint32_t mask = bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
  return (address & mask) == (network & mask);
}

constexpr uint32_t V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return (uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d;
}

AddressClass ClassifyV4(uint32_t a) {
  if (InV4Block(a, V4(0, 0, 0, 0), 8)) return AddressClass::kUnspecified;
  if (InV4Block(a, V4(127, 0, 0, 0), 8)) return AddressClass::kLoopback;
  if (InV4Block(a, V4(10, 0, 0, 0), 8) || InV4Block(a, V4(172, 16, 0, 0), 12) ||
      InV4Block(a, V4(192, 168, 0, 0), 16) || InV4Block(a, V4(100, 64, 0, 0), 10)) {
    return AddressClass::kPrivate;
  }
  if (InV4Block(a, V4(169, 254, 0, 0), 16)) return AddressClass::kLinkLocal;
  if (InV4Block(a, V4(224, 0, 0, 0), 4)) return AddressClass::kMulticast;
  if (InV4Block(a, V4(240, 0, 0, 0), 4) ||      // reserved, and 255.255.255.255
      InV4Block(a, V4(192, 0, 0, 0), 24) ||     // IETF protocol assignments
      InV4Block(a, V4(192, 0, 2, 0), 24) ||     // TEST-NET-1
      InV4Block(a, V4(192, 88, 99, 0), 24) ||   // 6to4 relay anycast
      InV4Block(a, V4(198, 18, 0, 0), 15) ||    // benchmarking
      InV4Block(a, V4(198, 51, 100, 0), 24) ||  // TEST-NET-2
      InV4Block(a, V4(203, 0, 113, 0), 24)) {   // TEST-NET-3
    return AddressClass::kReserved;
  }
  return AddressClass::kPublic;
}

uint32_t V4At(const IpAddress& address, int offset) {
  const auto& b = address.bytes;
  return V4(b[offset], b[offset + 1], b[offset + 2], b[offset + 3]);
}

IpAddress V6(std::initializer_list<uint16_t> groups) {
  IpAddress out;
  int i = 0;
  for (uint16_t group : groups) {
    out.bytes[i++] = static_cast<uint8_t>(group >> 8);
    out.bytes[i++] = static_cast<uint8_t>(group & 0xff);
  }
  return out;
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view WithoutTrailingDot(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

bool IsHostNameCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string copy(text);
  in_addr v4{};
  if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) return FromV4(ntohl(v4.s_addr));
  in6_addr v6{};
  if (inet_pton(AF_INET6, copy.c_str(), &v6) == 1) return FromV6(v6.s6_addr);
  return std::nullopt;
}

IpAddress IpAddress::FromV4(uint32_t host_order) {
  IpAddress out;
  std::copy(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), out.bytes.begin());
  out.bytes[12] = static_cast<uint8_t>(host_order >> 24);
  out.bytes[13] = static_cast<uint8_t>(host_order >> 16);
  out.bytes[14] = static_cast<uint8_t>(host_order >> 8);
  out.bytes[15] = static_cast<uint8_t>(host_order);
  return out;
}

IpAddress IpAddress::FromV6(const uint8_t bytes[16]) {
  IpAddress out;
  std::copy(bytes, bytes + 16, out.bytes.begin());
  return out;
}

bool IpAddress::IsV4() const {
  return std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes.begin());
}

uint32_t IpAddress::V4() const { return V4At(*this, 12); }

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (IsV4()) {
    in_addr v4{};
    v4.s_addr = htonl(V4());
    inet_ntop(AF_INET, &v4, text, sizeof text);
  } else {
    in6_addr v6{};
    std::copy(bytes.begin(), bytes.end(), v6.s6_addr);
    inet_ntop(AF_INET6, &v6, text, sizeof text);
  }
  return text;
}

std::optional<AddressRule> AddressRule::Parse(std::string_view text, std::string* error) {
  AddressRule rule;
  if (text.empty()) {
    *error = "an empty rule";
    return std::nullopt;
  }
  const size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  if (std::optional<IpAddress> address = IpAddress::Parse(address_text)) {
    rule.kind = Kind::kBlock;
    const int offset = address->IsV4() ? 96 : 0;
    int bits = 128 - offset;
    if (slash != std::string_view::npos) {
      const std::string_view bits_text = text.substr(slash + 1);
      const auto [end, ec] =
          std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
      if (ec != std::errc() || end != bits_text.data() + bits_text.size() || bits_text.empty() ||
          bits < 0 || bits > 128 - offset) {
        *error = "'" + std::string(text) + "' has an invalid prefix length (0 to " +
                 std::to_string(128 - offset) + ")";
        return std::nullopt;
      }
    }
    rule.prefix_bits = offset + bits;
    // The block's first address, so that "10.1.2.3/8" and "10.0.0.0/8" are the same rule.
    rule.network = *address;
    for (int i = 0; i < 16; ++i) {
      const int kept = std::clamp(rule.prefix_bits - 8 * i, 0, 8);
      rule.network.bytes[i] &= kept == 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - kept));
    }
    return rule;
  }
  if (slash != std::string_view::npos) {
    *error = "'" + std::string(text) + "' is neither an address, a CIDR block nor a host name";
    return std::nullopt;
  }
  std::string host = Lowercase(WithoutTrailingDot(text));
  std::string_view name = host;
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' ||
      !std::all_of(name.begin(), name.end(), IsHostNameCharacter)) {
    *error = "'" + std::string(text) + "' is neither an address, a CIDR block nor a host name";
    return std::nullopt;
  }
  rule.kind = Kind::kHost;
  rule.host = std::move(host);
  return rule;
}

bool AddressRule::Matches(std::string_view host, const IpAddress& address) const {
  if (kind == Kind::kBlock) return PrefixMatches(address, network, prefix_bits);
  const std::string name = Lowercase(WithoutTrailingDot(host));
  if (std::string_view(this->host).starts_with("*.")) {
    const std::string_view suffix = std::string_view(this->host).substr(1);  // ".example"
    return name.size() > suffix.size() && std::string_view(name).ends_with(suffix);
  }
  return name == this->host;
}

AddressClass ClassifyAddress(const IpAddress& address) {
  if (address.IsV4()) return ClassifyV4(address.V4());
  if (address == IpAddress{}) return AddressClass::kUnspecified;
  if (address == V6({0, 0, 0, 0, 0, 0, 0, 1})) return AddressClass::kLoopback;
  // Forms that carry an IPv4 address, which the network may deliver to that address.
  if (PrefixMatches(address, IpAddress{}, 96)) {  // IPv4-compatible (deprecated)
    const AddressClass embedded = ClassifyV4(V4At(address, 12));
    return embedded == AddressClass::kPublic ? AddressClass::kReserved : embedded;
  }
  if (PrefixMatches(address, V6({0x64, 0xff9b}), 96)) return ClassifyV4(V4At(address, 12));
  if (PrefixMatches(address, V6({0x2002}), 16)) return ClassifyV4(V4At(address, 2));
  if (PrefixMatches(address, V6({0x64, 0xff9b, 1}), 48)) return AddressClass::kPrivate;
  if (PrefixMatches(address, V6({0xfc00}), 7) || PrefixMatches(address, V6({0xfec0}), 10)) {
    return AddressClass::kPrivate;
  }
  if (PrefixMatches(address, V6({0xfe80}), 10)) return AddressClass::kLinkLocal;
  if (PrefixMatches(address, V6({0xff00}), 8)) return AddressClass::kMulticast;
  if (PrefixMatches(address, V6({0x100}), 64) ||          // discard-only
      PrefixMatches(address, V6({0x2001, 0xdb8}), 32) ||  // documentation
      PrefixMatches(address, V6({0x2001}), 23)) {         // IETF assignments, Teredo
    return AddressClass::kReserved;
  }
  return AddressClass::kPublic;
}

namespace {
constexpr char kDeniedByRules[] = "denied by the server's outbound rules";
}  // namespace

const char* AddressClassName(AddressClass address_class) {
  switch (address_class) {
    case AddressClass::kPublic:
      return "public";
    case AddressClass::kLoopback:
      return "loopback";
    case AddressClass::kPrivate:
      return "private";
    case AddressClass::kLinkLocal:
      return "link-local";
    case AddressClass::kUnspecified:
      return "unspecified";
    case AddressClass::kMulticast:
      return "multicast";
    case AddressClass::kReserved:
      return "reserved";
  }
  return "reserved";
}

const char* AddressPolicy::RefusalHint(const std::string& why) {
  return why == kDeniedByRules ? " (--outbound-deny, which --outbound-allow does not override)"
                               : " (this server's --outbound-allow opens it)";
}

bool AddressPolicy::Permits(std::string_view host, const IpAddress& address,
                            std::string* why) const {
  for (const AddressRule& rule : deny_) {
    if (rule.Matches(host, address)) {
      if (why) *why = kDeniedByRules;
      return false;
    }
  }
  const AddressClass address_class = ClassifyAddress(address);
  if (address_class == AddressClass::kPublic) return true;
  for (const AddressRule& rule : allow_) {
    if (rule.Matches(host, address)) return true;
  }
  if (why) {
    const char* name = AddressClassName(address_class);
    *why = std::string(name[0] == 'u' ? "an " : "a ") + name + " address";
  }
  return false;
}

}  // namespace dorm::outbound
