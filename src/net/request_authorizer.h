// The decision on the credential a request presents to a class that is not public. The network
// layer finds the credential and applies the decision (see access_gate.h); the implementation,
// which knows every app's keys, lives in the control plane and is handed to the HttpServer.
#pragma once

#include <string>
#include <string_view>

#include "runtime/access_mode.h"

namespace dorm::net {

struct AccessDecision {
  enum class Outcome {
    kAllow,
    kUnauthorized,  // missing or invalid credential: 401
    kForbidden,     // valid credential that does not grant this access: 403
  };
  Outcome outcome = Outcome::kUnauthorized;
  std::string error;           // not kAllow: one sentence for the client
  std::string claims_json;     // kAllow through a JWT: its verified claims, ASCII-only JSON
  std::string service_key_id;  // kAllow through a service key: the key's id
};

class RequestAuthorizer {
 public:
  virtual ~RequestAuthorizer() = default;

  // Decides whether `bearer` (the presented token; never empty) may reach a class of `app` whose
  // access mode is `mode` (never kPublic). Called on network threads, concurrently; must not
  // block on I/O and must not throw.
  virtual AccessDecision Authorize(const std::string& app, runtime::AccessMode mode,
                                   std::string_view bearer) const = 0;
};

}  // namespace dorm::net
