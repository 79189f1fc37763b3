// The address a cluster node advertises (--advertise), split for connecting to it.
#pragma once

#include <string>

namespace dorm::net {

// Splits "http://HOST[:PORT][/...]" (HOST may be a bracketed IPv6 literal; PORT defaults to 80)
// into `host` and `port`. Returns false, leaving them unspecified, for any other form. Pure.
bool SplitPeerAddress(const std::string& addr, std::string& host, std::string& port);

}  // namespace dorm::net
