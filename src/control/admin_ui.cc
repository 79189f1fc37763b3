#include "control/admin_ui.h"

#include <cstddef>
#include <string_view>

// Generated from js/ui (CMakeLists.txt, cmake/embed.cmake).
namespace dorm::control {
extern const unsigned char kDashboardHtml[];
extern const std::size_t kDashboardHtmlSize;
extern const unsigned char kDashboardScript[];
extern const std::size_t kDashboardScriptSize;
extern const unsigned char kDashboardStyle[];
extern const std::size_t kDashboardStyleSize;
}  // namespace dorm::control

namespace dorm::control {

namespace {

// Scripts, styles and fetches only from this origin; no plugins, no <base>, no form posts, and
// no page may frame the dashboard (clickjacking).
constexpr char kDashboardPolicy[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

runtime::HttpResponseData DashboardAnswer(int status, const char* type, std::string body) {
  runtime::HttpResponseData r;
  r.status = status;
  r.headers.emplace_back("content-type", type);
  r.headers.emplace_back("content-security-policy", kDashboardPolicy);
  r.headers.emplace_back("x-frame-options", "DENY");
  r.headers.emplace_back("x-content-type-options", "nosniff");
  r.headers.emplace_back("referrer-policy", "no-referrer");
  r.headers.emplace_back("cross-origin-opener-policy", "same-origin");
  r.headers.emplace_back("cross-origin-resource-policy", "same-origin");
  // The assets change with the binary; a browser asks again each time rather than keep a page
  // that calls an API the server no longer has.
  r.headers.emplace_back("cache-control", "no-cache");
  r.body = std::move(body);
  return r;
}

std::string Asset(const unsigned char* bytes, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(bytes), size);
}

}  // namespace

std::optional<runtime::HttpResponseData> ServeDashboard(const runtime::HttpRequestData& head) {
  std::string_view path = head.url;
  if (size_t q = path.find_first_of("?#"); q != std::string_view::npos) path = path.substr(0, q);
  constexpr std::string_view kRoot = "/_admin/ui";
  if (path.substr(0, kRoot.size()) != kRoot) return std::nullopt;
  std::string_view rest = path.substr(kRoot.size());
  if (!rest.empty() && rest.front() != '/') return std::nullopt;  // e.g. /_admin/uix
  if (head.method != "GET") {
    runtime::HttpResponseData r =
        DashboardAnswer(405, "text/plain; charset=utf-8", "Method not allowed.\n");
    r.headers.emplace_back("allow", "GET");
    return r;
  }
  if (rest.empty() || rest == "/") {
    return DashboardAnswer(200, "text/html; charset=utf-8",
                           Asset(kDashboardHtml, kDashboardHtmlSize));
  }
  if (rest == "/app.js") {
    return DashboardAnswer(200, "text/javascript; charset=utf-8",
                           Asset(kDashboardScript, kDashboardScriptSize));
  }
  if (rest == "/app.css") {
    return DashboardAnswer(200, "text/css; charset=utf-8",
                           Asset(kDashboardStyle, kDashboardStyleSize));
  }
  return DashboardAnswer(404, "text/plain; charset=utf-8", "Not found.\n");
}

}  // namespace dorm::control
