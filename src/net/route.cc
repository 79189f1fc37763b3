#include "net/route.h"

#include "util/names.h"

namespace dorm::net {

Route RouteTarget(std::string_view target) {
  Route route;
  std::string_view path = target;
  std::string_view query;
  if (size_t q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q);
  }
  if (path == "/_admin" || path.substr(0, 8) == "/_admin/") {
    route.kind = RouteKind::kAdmin;
    route.admin_path = std::string(path.substr(7));
    return route;
  }
  constexpr std::string_view kPrefix = "/_do/";
  if (path.substr(0, kPrefix.size()) != kPrefix) {
    route.error = "Not found. Durable Objects are served at /_do/<class-name>/<instance-id>.";
    route.outside_objects = true;
    return route;
  }
  std::string_view rest = path.substr(kPrefix.size());
  size_t slash = rest.find('/');
  std::string_view name = rest.substr(0, slash);
  if (name.empty()) {
    route.error = "Missing class name: use /_do/<class-name>/<instance-id>.";
    return route;
  }
  route.class_name = std::string(name);
  if (slash == std::string_view::npos) {
    route.kind = RouteKind::kBadRequest;
    route.error = "Missing instance id: use /_do/<class-name>/<instance-id>.";
    return route;
  }
  rest = rest.substr(slash + 1);
  slash = rest.find('/');
  std::string_view raw_id = rest.substr(0, slash);
  auto id = PercentDecode(raw_id);
  if (!id) {
    route.kind = RouteKind::kBadRequest;
    route.error = "Malformed percent-encoding in the instance id.";
    return route;
  }
  if (id->empty() || id->size() > kMaxInstanceIdBytes) {
    route.kind = RouteKind::kBadRequest;
    route.error = "The instance id must be 1 to 1024 bytes long.";
    return route;
  }
  route.kind = RouteKind::kObject;
  route.instance_id = std::move(*id);
  route.forwarded = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  route.forwarded += query;
  return route;
}

std::string AppFromHost(std::string_view host,
                        const std::function<bool(const std::string&)>& app_exists) {
  if (!host.empty() && host.front() == '[') return "default";  // IPv6 literal
  if (size_t colon = host.rfind(':'); colon != std::string_view::npos) host = host.substr(0, colon);
  size_t dot = host.find('.');
  if (dot == std::string_view::npos || dot == 0) return "default";
  bool numeric = true;
  for (char c : host) {
    if (!((c >= '0' && c <= '9') || c == '.')) numeric = false;
  }
  if (numeric) return "default";
  std::string label;
  for (char c : host.substr(0, dot))
    label += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (!IsValidKebabName(label) || !app_exists(label)) return "default";
  return label;
}

}  // namespace dorm::net
