// The dashboard at /_admin/ui: a page, its script and its style sheet, built from js/ui at build
// time and embedded in the binary, so that it works without internet access.
//
// The assets hold no data and are served without the admin token; everything the page shows it
// fetches from the admin API with the token the operator typed, sent in the Authorization header
// (the API takes it from nowhere else, so a cross-site request cannot use it: no CSRF). Every
// answer carries a Content-Security-Policy that allows only the server's own scripts, styles and
// API (no inline script, no framing), X-Frame-Options DENY and nosniff.
//
// Thread-safe: pure functions over constant data.
#pragma once

#include <optional>

#include "runtime/http_message.h"

namespace dorm::control {

// The answer to `head` (a request under /_admin; `url` is its target) when its path is the
// dashboard's (/_admin/ui, /_admin/ui/...), nullopt otherwise. Only GET is served (405
// otherwise); an unknown asset is a 404. Does not throw except std::bad_alloc.
std::optional<runtime::HttpResponseData> ServeDashboard(const runtime::HttpRequestData& head);

}  // namespace dorm::control
