// What `dorm deploy DIR|wrangler.*` sends for a Wrangler project, decided from its configuration
// before anything is bundled: the classes to bind, the vars, and the warnings (or, with
// --strict, the refusals) for what Dorm leaves unbound. Pure; no I/O.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "cli/wrangler_config.h"

namespace dorm::cli {

struct ProjectDeployPlan {
  std::string main;  // the entry module, relative to the configuration's folder
  // The body of POST /_admin/v1/apps/<app>/project, without "module" (the bundle).
  boost::json::object body;
  std::vector<std::string> warnings;
};

// Throws WranglerConfigError for a configuration Dorm cannot deploy (a missing `main`, a binding
// whose class no migration created, a transferred_classes migration), and with `strict` for
// anything it would leave unbound. The server checks the migrations again against the ones it
// applied before.
ProjectDeployPlan PlanProjectDeploy(const WranglerConfig& config, bool strict);

}  // namespace dorm::cli
