#include "net/access_gate.h"

#include <strings.h>

#include <algorithm>
#include <vector>

#include "util/names.h"

namespace dorm::net {

using runtime::AccessMode;
using runtime::HeaderList;
using runtime::HttpRequestData;
using runtime::HttpResponseData;

namespace {

bool NameIs(const std::string& header, std::string_view name) {
  return header.size() == name.size() && strncasecmp(header.data(), name.data(), name.size()) == 0;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

HttpResponseData Unauthorized(const std::string& message, bool token_given) {
  HttpResponseData r = HttpResponseData::JsonError(401, message);
  std::string challenge = "Bearer realm=\"dorm\"";
  if (token_given) {
    challenge +=
        ", error=\"invalid_token\", error_description=\"" + HeaderSafeDescription(message) + "\"";
  }
  r.headers.emplace_back("www-authenticate", std::move(challenge));
  return r;
}

std::string MissingCredentialMessage(AccessMode mode) {
  if (mode == AccessMode::kServiceKey) {
    return "Authentication required: this class needs a service key in "
           "'Authorization: Bearer dorm_sk_...'.";
  }
  return "Authentication required: this class needs an end-user JWT in "
         "'Authorization: Bearer <token>' (for WebSockets also a 'bearer.<token>' "
         "Sec-WebSocket-Protocol entry or an 'access_token' query parameter).";
}

}  // namespace

void RemoveHeader(HeaderList& headers, std::string_view name) {
  std::erase_if(headers, [name](const auto& h) { return NameIs(h.first, name); });
}

std::optional<std::string> BearerFromAuthorization(const HeaderList& headers) {
  for (const auto& [name, value] : headers) {
    if (!NameIs(name, "authorization")) continue;
    std::string_view v = TrimSpaces(value);
    if (v.size() < 7 || strncasecmp(v.data(), "bearer ", 7) != 0) return std::nullopt;
    std::string_view token = TrimSpaces(v.substr(7));
    if (token.empty()) return std::nullopt;
    return std::string(token);
  }
  return std::nullopt;
}

std::optional<std::string> TakeProtocolToken(HeaderList& headers) {
  std::optional<std::string> token;
  for (auto& [name, value] : headers) {
    if (!NameIs(name, "sec-websocket-protocol")) continue;
    std::string kept;
    bool changed = false;
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      std::string_view entry = TrimSpaces(std::string_view(value).substr(start, comma - start));
      start = comma + 1;
      if (entry.substr(0, sizeof kTokenProtocolPrefix - 1) == kTokenProtocolPrefix) {
        if (!token) token = std::string(entry.substr(sizeof kTokenProtocolPrefix - 1));
        changed = true;
        continue;
      }
      if (entry.empty()) continue;
      if (!kept.empty()) kept += ", ";
      kept += entry;
    }
    if (changed) value = std::move(kept);
  }
  if (token) {
    std::erase_if(headers, [](const auto& h) {
      return NameIs(h.first, "sec-websocket-protocol") && TrimSpaces(h.second).empty();
    });
  }
  return token;
}

std::optional<std::string> TakeQueryToken(std::string& url) {
  size_t question = url.find('?');
  if (question == std::string::npos) return std::nullopt;
  std::optional<std::string> token;
  std::string kept;
  size_t start = question + 1;
  while (start <= url.size()) {
    size_t amp = url.find('&', start);
    if (amp == std::string::npos) amp = url.size();
    std::string_view pair = std::string_view(url).substr(start, amp - start);
    start = amp + 1;
    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    if (name == kTokenQueryParameter) {
      if (!token) {
        std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
        token = PercentDecode(raw).value_or(std::string(raw));
      }
      continue;
    }
    if (pair.empty()) continue;
    if (!kept.empty()) kept += '&';
    kept += pair;
  }
  if (!token) return std::nullopt;
  url.resize(question);
  if (!kept.empty()) url += "?" + kept;
  return token;
}

std::string HeaderSafeDescription(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= 200) break;
    if (c == '"' || c == '\\') {
      out += '\'';
    } else if (c >= 0x20 && c <= 0x7e) {
      out += c;
    }
  }
  return out;
}

std::optional<HttpResponseData> CheckObjectAccess(const runtime::ClassCatalog& catalog,
                                                  const RequestAuthorizer* authorizer,
                                                  const std::string& app,
                                                  const std::string& class_name,
                                                  HttpRequestData& request,
                                                  std::string* protocol_fallback) {
  if (protocol_fallback) protocol_fallback->clear();
  RemoveHeader(request.headers, kAuthClaimsHeader);
  RemoveHeader(request.headers, kServiceKeyIdHeader);
  std::shared_ptr<const runtime::AppCode> code = catalog.Get(app);
  const runtime::DeployedClass* deployed = code ? code->Find(class_name) : nullptr;
  if (!deployed || deployed->access_mode == AccessMode::kPublic) return std::nullopt;
  const AccessMode mode = deployed->access_mode;

  std::optional<std::string> token = BearerFromAuthorization(request.headers);
  if (mode == AccessMode::kAuthenticated) {
    // Taken (and so removed) even when the header carries the token: the object never sees a
    // token in its URL or subprotocol list.
    std::optional<std::string> from_protocol = TakeProtocolToken(request.headers);
    std::optional<std::string> from_query = TakeQueryToken(request.url);
    // TakeProtocolToken drops a header left empty: no header now means that the client offered
    // nothing but bearer entries.
    bool other_protocols =
        std::any_of(request.headers.begin(), request.headers.end(),
                    [](const auto& h) { return NameIs(h.first, "sec-websocket-protocol"); });
    if (protocol_fallback && from_protocol && !other_protocols) {
      *protocol_fallback = kTokenProtocolPrefix + *from_protocol;
    }
    if (!token) token = from_protocol ? from_protocol : from_query;
  }
  if (!token || token->empty()) return Unauthorized(MissingCredentialMessage(mode), false);
  if (!authorizer) {
    return Unauthorized("Access control is not available on this server.", true);
  }
  AccessDecision decision = authorizer->Authorize(app, mode, *token);
  switch (decision.outcome) {
    case AccessDecision::Outcome::kUnauthorized:
      return Unauthorized(decision.error, true);
    case AccessDecision::Outcome::kForbidden:
      return HttpResponseData::JsonError(403, decision.error);
    case AccessDecision::Outcome::kAllow:
      break;
  }
  if (!decision.claims_json.empty()) {
    request.headers.emplace_back(kAuthClaimsHeader, std::move(decision.claims_json));
  }
  if (!decision.service_key_id.empty()) {
    request.headers.emplace_back(kServiceKeyIdHeader, std::move(decision.service_key_id));
  }
  return std::nullopt;
}

void AttachWorkerCredential(const RequestAuthorizer* authorizer, const std::string& app,
                            HttpRequestData& request) {
  RemoveHeader(request.headers, kAuthClaimsHeader);
  RemoveHeader(request.headers, kServiceKeyIdHeader);
  std::optional<std::string> token = BearerFromAuthorization(request.headers);
  if (!authorizer || !token || token->empty()) return;
  AccessDecision decision = authorizer->Authorize(app, AccessMode::kAuthenticated, *token);
  if (decision.outcome != AccessDecision::Outcome::kAllow) return;
  if (!decision.claims_json.empty()) {
    request.headers.emplace_back(kAuthClaimsHeader, std::move(decision.claims_json));
  }
  if (!decision.service_key_id.empty()) {
    request.headers.emplace_back(kServiceKeyIdHeader, std::move(decision.service_key_id));
  }
}

void ApplyProtocolFallback(const std::string& protocol_fallback, HttpResponseData& response) {
  if (protocol_fallback.empty() || response.status != 101 || response.web_socket_id == 0) return;
  for (const auto& [name, value] : response.headers) {
    if (NameIs(name, "sec-websocket-protocol")) return;
  }
  response.headers.emplace_back("sec-websocket-protocol", protocol_fallback);
}

}  // namespace dorm::net
