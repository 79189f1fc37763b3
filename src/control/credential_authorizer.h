// The server's RequestAuthorizer: decides on a request's credential with the apps' keys held by
// the CredentialsStore.
//
// - A service key (`dorm_sk_...`) of the class's app is accepted by authenticated and service_key
//   classes; one of another app is refused with 403; an unknown or revoked one with 401.
// - Any other token is a JWT: authenticated classes accept it when the app's verifier does; a
//   service_key class refuses a valid JWT with 403 and anything else with 401.
//
// Thread-safe; does no I/O.
#pragma once

#include "control/credentials_store.h"
#include "net/request_authorizer.h"

namespace dorm::control {

class CredentialAuthorizer : public net::RequestAuthorizer {
 public:
  // `store` must outlive the authorizer.
  explicit CredentialAuthorizer(const CredentialsStore& store) : store_(store) {}

  net::AccessDecision Authorize(const std::string& app, runtime::AccessMode mode,
                                std::string_view bearer) const override;

 private:
  const CredentialsStore& store_;
};

}  // namespace dorm::control
