// `dorm types`: the `Env` interface of a Wrangler project, as `wrangler types` writes it to
// worker-configuration.d.ts, so that the project's TypeScript sees its vars and Durable Object
// namespaces with their classes. Pure; no I/O.
#pragma once

#include <string>

#include "cli/wrangler_config.h"

namespace dorm::cli {

// The declaration file's text for `config` (whose `main` is relative to the file's folder).
std::string EnvTypes(const WranglerConfig& config);

}  // namespace dorm::cli
