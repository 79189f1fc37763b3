// Fuzzes what the HTTP server does with the bytes of one connection, up to the point where a
// request is dispatched: Beast's request parser configured as the server configures it
// (net/request_head.h), heads, chunked bodies and trailers, several pipelined requests, the head
// checks, the route planner, the access gate (HttpServer::PlanRequest and Admit, on a server
// that is never started) and, for each admitted request, the response path's header checks
// (net/response_head.h) on headers taken from the request's body, as a tenant could return them.
//
// Input: one byte choosing how the bytes arrive (ReadStepFor), then the connection's bytes, with
// runs (fuzz_input.h) so that small inputs can make 64 KiB heads and trailers.
//
// Besides memory errors, UB and exceptions escaping, it aborts when:
// - a request the server forwards carries a client's x-dorm-* header, or the server's own
//   headers other than as it set them (claims only from a verified credential);
// - a request to an authenticated class still shows its token to the object (bearer.<token>
//   subprotocol or access_token query parameter);
// - a body passes the body limit, or a buffered request passes the connection's buffer;
// - the response head writer (AppendResponseHead) accepts a field CheckResponseField refuses or
//   refuses an acceptable one, writes other bytes than Beast's serializer (which wrote the
//   server's heads before) for the same answer, or a field does not come back from the written
//   head exactly as it went in (response splitting).
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "net/access_gate.h"
#include "net/http_server.h"
#include "net/jwt_verifier.h"
#include "net/request_authorizer.h"
#include "net/request_head.h"
#include "net/response_head.h"
#include "net/route.h"
#include "runtime/engine_pool.h"
#include "runtime/runtime_shared.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using dorm::net::AccessDecision;
using dorm::runtime::AccessMode;
using dorm::runtime::HeaderList;
using dorm::runtime::HttpRequestData;
using dorm::runtime::HttpResponseData;

// What the seed corpus's tokens are signed with; the clock is fixed so that they stay valid.
constexpr char kJwtSecret[] = "fuzz-hs256-secret-0123456789abcdef0123";
constexpr char kServiceKey[] = "dorm_sk_fuzz_service_key";
constexpr char kServiceKeyId[] = "fuzzkey1";
constexpr char kAdminToken[] = "fuzz-admin-token";
constexpr int64_t kNow = 1'800'000'000;
// Expanded input at most: room for a head at the limit, a large trailer and some body.
constexpr size_t kMaxConnectionBytes = 1u << 20;
constexpr int kMaxRequestsPerConnection = 64;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "http_request_fuzzer: %s\n", what.c_str());
  std::abort();
}

// Grants an app's JWTs (HS256, kJwtSecret) and its one service key, like the control plane's
// authorizer does, and remembers its last decision so that the checks can compare.
class FuzzAuthorizer : public dorm::net::RequestAuthorizer {
 public:
  FuzzAuthorizer() : verifier_(Keys()) {}

  AccessDecision Authorize(const std::string&, AccessMode mode,
                           std::string_view bearer) const override {
    AccessDecision decision;
    if (bearer == kServiceKey) {
      decision.outcome = AccessDecision::Outcome::kAllow;
      decision.service_key_id = kServiceKeyId;
    } else if (mode == AccessMode::kServiceKey) {
      decision.error = "Not a service key of this app.";
    } else if (auto v = verifier_.Verify(bearer, kNow); v.ok) {
      decision.outcome = AccessDecision::Outcome::kAllow;
      decision.claims_json = v.claims_json;
    } else {
      decision.error = v.error;
    }
    last = decision;
    return decision;
  }

  mutable std::optional<AccessDecision> last;

 private:
  static dorm::net::JwtKeySet Keys() {
    dorm::net::JwtKeySet keys;
    keys.hs256_secret = kJwtSecret;
    return keys;
  }
  dorm::net::JwtVerifier verifier_;
};

struct Fixture {
  dorm::runtime::RuntimeShared shared;
  FuzzAuthorizer authorizer;
  dorm::net::HttpServerOptions options;
  // Neither is started (no threads, no sockets) or destroyed: only the server's planning and
  // admission code runs.
  dorm::runtime::EnginePool* pool = nullptr;
  dorm::net::HttpServer* server = nullptr;
};
Fixture* g;

dorm::runtime::DeployedClass Class(const char* name, AccessMode mode) {
  dorm::runtime::DeployedClass c;
  c.name = name;
  c.class_name = name;
  c.module_js = "export class X {}";
  c.access_mode = mode;
  return c;
}

bool NameIs(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

const std::string* FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (NameIs(n, name)) return &v;
  }
  return nullptr;
}

size_t CountHeader(const HeaderList& headers, std::string_view name) {
  size_t n = 0;
  for (const auto& h : headers) n += NameIs(h.first, name) ? 1 : 0;
  return n;
}

// The server's own refusals are JSON with a reason, and sendable as they are.
void CheckRefusal(const HttpResponseData& answer) {
  if (answer.status < 400 || answer.status > 599) {
    Fail("a refusal has status " + std::to_string(answer.status));
  }
  // Messages may echo request bytes that are not UTF-8 (a class name from the URL), which
  // Boost.JSON refuses; what must hold is the JSON structure around them.
  std::string ascii = answer.body;
  for (char& c : ascii) {
    if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  }
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(ascii, ec);
  if (ec || !body.is_object() || !body.as_object().contains("error")) {
    Fail("a refusal's body is not {\"error\": ...}: " + answer.body);
  }
  for (const auto& [name, value] : answer.headers) {
    if (auto bad = dorm::net::CheckResponseField(name, value)) {
      Fail("a refusal has a header that cannot be sent: " + *bad);
    }
  }
}

// What the server must have done to a request it admits (see the file comment).
void CheckAdmitted(const dorm::net::HttpServer::Plan& plan, const HttpRequestData& request,
                   const std::string& target) {
  const std::optional<AccessDecision>& decision = g->authorizer.last;
  size_t server_headers = 0;
  for (const auto& [name, value] : request.headers) {
    if (!dorm::net::IsServerHeaderName(name)) continue;
    ++server_headers;
    if (NameIs(name, "x-dorm-original-path")) {
      if (value != target.substr(0, target.find('?'))) Fail("x-dorm-original-path is " + value);
    } else if (NameIs(name, dorm::net::kAuthClaimsHeader)) {
      if (!decision || decision->claims_json != value) Fail("unverified claims reach the object");
    } else if (NameIs(name, dorm::net::kServiceKeyIdHeader)) {
      if (!decision || decision->service_key_id != value) {
        Fail("an unverified service key id reaches the object");
      }
    } else {
      Fail("a client's " + name + " header reaches the application");
    }
  }
  if (plan.route.kind != dorm::net::RouteKind::kObject) {
    if (server_headers != 0) Fail("server headers on a request that is not for an object");
    return;
  }
  for (const char* name :
       {"x-dorm-original-path", dorm::net::kAuthClaimsHeader, dorm::net::kServiceKeyIdHeader}) {
    if (CountHeader(request.headers, name) > 1) Fail(std::string("two ") + name + " headers");
  }
  auto code = g->shared.catalog.Get(plan.address.app);
  const auto* deployed = code ? code->Find(plan.address.class_name) : nullptr;
  if (!deployed) Fail("a request for an unknown class was admitted");
  if (deployed->access_mode == AccessMode::kPublic) {
    if (FindHeader(request.headers, dorm::net::kAuthClaimsHeader) ||
        FindHeader(request.headers, dorm::net::kServiceKeyIdHeader)) {
      Fail("credentials reach a public class");
    }
    return;
  }
  if (!decision || decision->outcome != AccessDecision::Outcome::kAllow) {
    Fail("a request to a protected class was admitted without an allowing decision");
  }
  if (deployed->access_mode == AccessMode::kAuthenticated) {
    for (const auto& [name, value] : request.headers) {
      if (NameIs(name, "sec-websocket-protocol") &&
          value.find(dorm::net::kTokenProtocolPrefix) != std::string::npos) {
        // An entry that merely contains "bearer." elsewhere is the client's own business.
        for (size_t start = 0; start <= value.size();) {
          size_t comma = value.find(',', start);
          if (comma == std::string::npos) comma = value.size();
          std::string_view entry = std::string_view(value).substr(start, comma - start);
          while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t')) {
            entry.remove_prefix(1);
          }
          if (entry.substr(0, 7) == dorm::net::kTokenProtocolPrefix) {
            Fail("a bearer.<token> subprotocol reaches the object");
          }
          start = comma + 1;
        }
      }
    }
    size_t q = request.url.find('?');
    if (q != std::string::npos) {
      std::string_view query = std::string_view(request.url).substr(q + 1);
      for (size_t start = 0; start <= query.size();) {
        size_t amp = query.find('&', start);
        if (amp == std::string::npos) amp = query.size();
        std::string_view pair = query.substr(start, amp - start);
        if (pair.substr(0, pair.find('=')) == dorm::net::kTokenQueryParameter) {
          Fail("an access_token query parameter reaches the object: " + request.url);
        }
        start = amp + 1;
      }
    }
  }
}

// A tenant's response built from `body`: one header per line ("name:value", any bytes; a line
// named ":reason" is the reason phrase). The server's head writer must refuse the response when
// CheckResponseField refuses one of its fields (it becomes a 500), and otherwise write what
// Beast wrote for the accepted fields, each read back unchanged.
void CheckResponsePath(const std::string& body) {
  http::response<http::string_body> res;
  res.result(http::status::ok);
  res.version(11);
  std::string reason;
  std::vector<std::pair<std::string, std::string>> fields;  // as the tenant answered them
  std::vector<std::pair<std::string, std::string>> sent;    // in the order they must be written
  bool refused = false;
  for (size_t start = 0; start < body.size() && fields.size() < 64;) {
    size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    std::string line = body.substr(start, end - start);
    start = end + 1;
    size_t colon = line.find(':', line.empty() || line[0] != ':' ? 0 : 1);
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    if (name == ":reason") {
      reason = value;  // the last one counts
      continue;
    }
    fields.emplace_back(name, value);
    if (NameIs(name, "content-length") || NameIs(name, "transfer-encoding") ||
        NameIs(name, "connection")) {
      continue;
    }
    if (dorm::net::CheckResponseField(name, value)) {
      refused = true;
      continue;
    }
    try {
      res.insert(name, value);
    } catch (const std::exception& e) {
      Fail(std::string("a field CheckResponseField accepts cannot be stored: ") + e.what());
    }
    // Beast writes a field right after the last field of the same name (names compared without
    // case), so repeated fields come out grouped; the expected order follows that rule.
    auto after_last_same = sent.end();
    for (auto it = sent.begin(); it != sent.end(); ++it) {
      if (NameIs(it->first, name)) after_last_same = it + 1;
    }
    sent.emplace(after_last_same, std::move(name), std::move(value));
  }
  // A reason phrase that cannot be sent is replaced by the status's standard one.
  if (dorm::net::IsValidReasonPhrase(reason)) res.reason(reason);
  std::string head;
  std::optional<std::string> refusal = dorm::net::AppendResponseHead(
      200, reason, fields, /*keep_alive=*/true, dorm::net::BodyFraming::kContentLength, 2, &head);
  if (refusal.has_value() != refused) {
    Fail(refused ? "the head writer accepts a field CheckResponseField refuses"
                 : "the head writer refuses acceptable fields: " + *refusal);
  }
  if (refused) return;
  res.body() = "ok";
  res.keep_alive(true);
  res.prepare_payload();
  std::ostringstream written;
  try {
    written << res;
  } catch (const std::exception& e) {
    Fail(std::string("an accepted response cannot be written: ") + e.what());
  }
  // Read back line by line: the status line, the same fields in order (then Beast's own
  // Content-Length and Connection), an empty line and the body. A CR, LF or NUL that got through
  // would show as an extra or a broken line.
  std::string bytes = head + "ok";
  if (bytes != written.str()) {
    auto shown = [](const std::string& text) {
      std::string out;
      for (unsigned char c : text) {
        if (c >= 0x20 && c < 0x7f && c != '\\') {
          out += static_cast<char>(c);
        } else {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
          out += escaped;
        }
      }
      return out;
    };
    Fail("the head writer's bytes differ from Beast's: " + shown(bytes) + " against " +
         shown(written.str()));
  }
  std::vector<std::string> lines;
  size_t at = 0;
  for (;;) {
    size_t crlf = bytes.find("\r\n", at);
    if (crlf == std::string::npos) Fail("the written response head does not end");
    std::string line = bytes.substr(at, crlf - at);
    at = crlf + 2;
    if (line.empty()) break;
    if (line.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
      Fail("a written response line holds a CR, LF or NUL");
    }
    lines.push_back(std::move(line));
  }
  if (bytes.substr(at) != "ok") Fail("the written response's body changed");
  if (lines.size() < sent.size() + 2) {
    Fail("the written response has " + std::to_string(lines.size()) + " lines for " +
         std::to_string(sent.size()) + " fields");
  }
  // Beast stores a value without its surrounding blanks, as RFC 9110 section 5.5 allows.
  auto trim = [](const std::string& v) {
    size_t first = v.find_first_not_of(" \t");
    if (first == std::string::npos) return std::string();
    return v.substr(first, v.find_last_not_of(" \t") - first + 1);
  };
  for (size_t i = 0; i < sent.size(); ++i) {
    if (lines[i + 1] != sent[i].first + ": " + trim(sent[i].second)) {
      Fail("response field " + std::to_string(i) + " changed on the way: " + sent[i].first);
    }
  }
  for (size_t i = sent.size() + 1; i < lines.size(); ++i) {
    if (lines[i].rfind("Content-Length: ", 0) != 0 && lines[i].rfind("Connection: ", 0) != 0) {
      Fail("the written response has an unexpected line: " + lines[i]);
    }
  }
}

// One connection, read as the server's Session reads it.
class Connection {
 public:
  Connection(std::string bytes, size_t step)
      : bytes_(std::move(bytes)),
        step_(step),
        limits_{g->options.max_header_bytes, g->options.max_body_bytes},
        buffer_(dorm::net::ConnectionBufferBytes(limits_)) {}

  void Run() {
    for (int i = 0; i < kMaxRequestsPerConnection; ++i) {
      if (!OneRequest()) return;
    }
  }

 private:
  // Appends the next bytes the client sent; false at the end of the input or when the buffer is
  // full (which the server answers with 400/431 and closes).
  bool ReadSome() {
    size_t room = buffer_.max_size() - buffer_.size();
    size_t n = std::min({room, step_, bytes_.size() - position_});
    if (n == 0) return false;
    auto space = buffer_.prepare(n);
    std::memcpy(space.data(), bytes_.data() + position_, n);
    buffer_.commit(n);
    position_ += n;
    if (buffer_.size() > buffer_.max_size()) Fail("the connection buffer passed its limit");
    return true;
  }

  // Feeds the buffer to the parser as Session::Parse does; false if the request is refused.
  bool Parse(dorm::net::RequestParser& parser, bool body_phase) {
    while (buffer_.size() > 0 && !parser.is_done()) {
      beast::error_code ec;
      size_t used = 0;
      try {
        used = parser.put(buffer_.data(), ec);
      } catch (const std::exception&) {
        return false;  // answered 400 by the server
      }
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) return false;
      if (!body_phase && parser.is_header_done()) break;
      if (used == 0) break;
    }
    return true;
  }

  bool OneRequest() {
    dorm::net::RequestParser parser;
    dorm::net::ConfigureRequestParser(parser, limits_);
    while (!parser.is_header_done()) {
      if (!Parse(parser, false)) return false;
      if (parser.is_header_done()) break;
      if (!ReadSome()) return false;
    }
    const auto& req = parser.get();
    if (auto refusal = dorm::net::CheckRequestHead(req)) {
      if (refusal->status < 400 || refusal->message.empty()) Fail("a head refusal has no reason");
      return false;
    }
    const bool keep_alive = req.keep_alive();
    const bool body_pending = !parser.is_done();
    std::string host(req[http::field::host]);
    std::string target(req.target());
    dorm::net::HttpServer::Plan plan = g->server->PlanRequest(target, host);
    HttpRequestData request;
    request.method = std::string(req.method_string());
    request.headers = dorm::net::ForwardedHeaders(req);
    std::string protocol_fallback;
    g->authorizer.last.reset();
    if (auto answer = g->server->Admit(plan, request, target, host, &protocol_fallback)) {
      CheckRefusal(*answer);
      return keep_alive && !body_pending;
    }
    CheckAdmitted(plan, request, target);
    if (!protocol_fallback.empty() &&
        protocol_fallback.rfind(dorm::net::kTokenProtocolPrefix, 0) != 0) {
      Fail("the subprotocol fallback is not a bearer entry: " + protocol_fallback);
    }
    (void)boost::beast::websocket::is_upgrade(req);
    if (body_pending) {
      parser.eager(true);
      for (;;) {
        if (!Parse(parser, true)) return false;
        if (parser.get().body().size() > limits_.max_body_bytes) {
          Fail("a body passed the body limit");
        }
        if (parser.is_done()) break;
        if (!ReadSome()) return false;
      }
    }
    CheckResponsePath(parser.get().body());
    return keep_alive;
  }

  std::string bytes_;
  size_t position_ = 0;
  size_t step_;
  dorm::net::RequestLimits limits_;
  beast::flat_buffer buffer_;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g = new Fixture;
  // A default app with a class of each access mode, and a second app reached by Host.
  g->shared.catalog.Set(
      "default", {Class("counter", AccessMode::kPublic), Class("vault", AccessMode::kAuthenticated),
                  Class("ops", AccessMode::kServiceKey)});
  g->shared.catalog.Set(
      "shop", {Class("cart", AccessMode::kAuthenticated), Class("menu", AccessMode::kPublic)});
  g->pool = new dorm::runtime::EnginePool(g->shared, 1);
  g->server = new dorm::net::HttpServer(
      g->options, *g->pool,
      [](const std::string&, HttpRequestData, std::function<void(HttpResponseData)>) {});
  g->server->set_authorizer(&g->authorizer);
  g->server->set_admin_gate([](const HttpRequestData& head) -> std::optional<HttpResponseData> {
    const std::string* auth = FindHeader(head.headers, "authorization");
    if (auth && *auth == std::string("Bearer ") + kAdminToken) return std::nullopt;
    return HttpResponseData::JsonError(401, "Admin token required.");
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Connection connection(dorm::fuzz::ExpandRuns(data + 1, size - 1, kMaxConnectionBytes),
                        dorm::fuzz::ReadStepFor(data[0]));
  connection.Run();
  return 0;
}
