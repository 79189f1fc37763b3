// The access check every request to an object passes before it is routed to the object's thread
// (WebSocket upgrades included, since they are HTTP requests until the object accepts them).
//
// - The headers the server sets for the object (kAuthClaimsHeader, kServiceKeyIdHeader) are
//   removed from every request, whatever the class's access mode, so an object can trust them.
// - public: nothing else.
// - authenticated: a token from `Authorization: Bearer <token>`; failing that, from a
//   `Sec-WebSocket-Protocol` entry `bearer.<token>`; failing that, from the query parameter
//   `access_token` (browsers cannot set headers on a WebSocket upgrade). Both alternate forms are
//   removed from what the object sees. The token is a JWT of the app, or one of its service keys.
// - service_key: only `Authorization: Bearer dorm_sk_...`.
// - WebSocket subprotocols: RFC 6455 clients such as the `ws` npm package fail a handshake whose
//   answer selects no protocol when they offered some, while browsers accept it. When every entry
//   the client offered was a `bearer.<token>` entry (so the object saw none) and the object's 101
//   selects no protocol, the server selects the client's own first `bearer.<token>` entry, so both
//   kinds of client connect. The token goes back only to the client that sent it, on the same
//   connection; the object never sees it. When the client offered other protocols too, the
//   object's choice among those is sent unchanged.
// A missing or refused credential answers 401 with `WWW-Authenticate: Bearer realm="dorm"` (plus
// error="invalid_token" and error_description when a token was given); a valid credential without
// access answers 403. On success the verified claims (JWT) or key id (service key) are set as
// request headers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "net/request_authorizer.h"
#include "runtime/class_catalog.h"
#include "runtime/http_message.h"

namespace dorm::net {

inline constexpr char kAuthClaimsHeader[] = "x-dorm-auth-claims";
inline constexpr char kServiceKeyIdHeader[] = "x-dorm-service-key-id";
inline constexpr char kTokenQueryParameter[] = "access_token";
inline constexpr char kTokenProtocolPrefix[] = "bearer.";

// Removes every header called `name` (ASCII case-insensitive).
void RemoveHeader(runtime::HeaderList& headers, std::string_view name);

// The token of the first `Authorization` header when it uses the Bearer scheme (case-insensitive)
// and carries a non-empty token; nullopt otherwise.
std::optional<std::string> BearerFromAuthorization(const runtime::HeaderList& headers);

// Finds the first `bearer.<token>` entry of the `Sec-WebSocket-Protocol` headers, removes every
// such entry (and a header left empty), and returns the token; nullopt (and no change) if none.
std::optional<std::string> TakeProtocolToken(runtime::HeaderList& headers);

// Finds the first `access_token` query parameter of `url` (absolute or origin-form), removes every
// one of them from `url` (dropping the `?` when no parameter is left) and returns the first value,
// percent-decoded; nullopt (and no change) if none.
std::optional<std::string> TakeQueryToken(std::string& url);

// `text` made safe for a quoted-string in a WWW-Authenticate header: printable ASCII without `"`
// and `\`, at most 200 characters.
std::string HeaderSafeDescription(std::string_view text);

// Applies the access check to a request for class `class_name` of `app`, whose `url` is already
// the URL the object will see. Returns the response to send instead when the request is refused;
// otherwise adjusts `request` as described above and returns nullopt. A class missing from the
// catalog is let through (the runtime answers 404). Without an authorizer every non-public class
// is refused. When `protocol_fallback` is given, it is set to the `bearer.<token>` entry to select
// for a 101 answer without Sec-WebSocket-Protocol (see above), or cleared when there is none.
// Thread-safe (the catalog and authorizer are).
std::optional<runtime::HttpResponseData> CheckObjectAccess(
    const runtime::ClassCatalog& catalog, const RequestAuthorizer* authorizer,
    const std::string& app, const std::string& class_name, runtime::HttpRequestData& request,
    std::string* protocol_fallback = nullptr);

// The credential handling of a request to an app's Worker, which is public as on Cloudflare (a
// Worker does its own auth): the server's headers are removed from the request, and when it
// carries `Authorization: Bearer` with a JWT or service key the app accepts, the verified claims
// or key id are set, as for an `authenticated` class. A missing or refused credential changes
// nothing else. Thread-safe.
void AttachWorkerCredential(const RequestAuthorizer* authorizer, const std::string& app,
                            runtime::HttpRequestData& request);

// Adds `Sec-WebSocket-Protocol: <protocol_fallback>` to `response` when it is a WebSocket
// acceptance (101 with a socket) that selects no protocol and `protocol_fallback` is not empty.
void ApplyProtocolFallback(const std::string& protocol_fallback,
                           runtime::HttpResponseData& response);

}  // namespace dorm::net
