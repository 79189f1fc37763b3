// The settings of the client behind fetch() to the outside world, fixed at server start.
#pragma once

#include <chrono>
#include <string>

#include "outbound/address_policy.h"

namespace dorm::outbound {

struct ClientOptions {
  AddressPolicy policy;
  // A PEM file of further CA certificates to trust, besides the system's; empty for none.
  std::string extra_ca_file;
  // Longest a connection may take to be established, and an exchange altogether.
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds exchange_timeout{300000};
};

}  // namespace dorm::outbound
