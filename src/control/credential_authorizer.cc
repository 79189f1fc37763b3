#include "control/credential_authorizer.h"

#include <chrono>

#include "util/wall_clock.h"

namespace dorm::control {

using net::AccessDecision;
using Outcome = net::AccessDecision::Outcome;

namespace {

AccessDecision Decide(Outcome outcome, std::string error) {
  AccessDecision d;
  d.outcome = outcome;
  d.error = std::move(error);
  return d;
}

int64_t NowSeconds() { return WallClockSeconds(); }

}  // namespace

AccessDecision CredentialAuthorizer::Authorize(const std::string& app, runtime::AccessMode mode,
                                               std::string_view bearer) const {
  if (bearer.starts_with(kServiceKeyPrefix)) {
    std::optional<ServiceKeyInfo> key = store_.FindKey(bearer);
    if (!key) return Decide(Outcome::kUnauthorized, "Invalid or revoked service key.");
    if (key->app != app) {
      return Decide(Outcome::kForbidden,
                    "This service key belongs to another app and grants no access here.");
    }
    AccessDecision allow = Decide(Outcome::kAllow, "");
    allow.service_key_id = key->id;
    return allow;
  }
  std::shared_ptr<const net::JwtVerifier> verifier = store_.Verifier(app);
  if (mode == runtime::AccessMode::kServiceKey) {
    if (verifier && verifier->Verify(bearer, NowSeconds()).ok) {
      return Decide(Outcome::kForbidden,
                    "This class requires a service key: an end-user token grants no access.");
    }
    return Decide(Outcome::kUnauthorized,
                  "This class requires a service key (Authorization: Bearer dorm_sk_...).");
  }
  if (!verifier) {
    return Decide(Outcome::kUnauthorized, "App '" + app +
                                              "' has no JWT verification configured, so no "
                                              "end-user token is accepted (dorm auth set).");
  }
  net::JwtVerification verified = verifier->Verify(bearer, NowSeconds());
  if (!verified.ok) return Decide(Outcome::kUnauthorized, std::move(verified.error));
  AccessDecision allow = Decide(Outcome::kAllow, "");
  allow.claims_json = std::move(verified.claims_json);
  return allow;
}

}  // namespace dorm::control
